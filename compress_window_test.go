package websocket

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompressionWindowBits: a client that limits the server's window
// (server_max_window_bits) gets it in the answer, and the server's
// compressor keeps to it: a repeat farther back than the window is not
// referred to, one within it is, and the messages inflate. Through
// WriteMessage and a PreparedMessage, with and without context takeover.
func TestCompressionWindowBits(t *testing.T) {
	for _, bits := range []int{8, 9, 12, 14, 15} {
		for _, mode := range []CompressionMode{CompressionNoContextTakeover, CompressionContextTakeover} {
			t.Run(fmt.Sprintf("%d bits, mode %d", bits, mode), func(t *testing.T) {
				offer := fmt.Sprintf("permessage-deflate; server_max_window_bits=%d", bits)
				p, c, header := connectDeflate(t, &Upgrader{Compression: mode, CompressionThreshold: -1}, offer)
				assert.Contains(t, header.Get("Sec-WebSocket-Extensions"), fmt.Sprintf("server_max_window_bits=%d", bits))
				window := 1 << bits
				rng := rand.NewChaCha8([32]byte{byte(bits)})
				far := make([]byte, window+1024) // repeats beyond the window
				_, _ = rng.Read(far)
				near := make([]byte, window/2) // repeats within it
				_, _ = rng.Read(near)
				for _, tt := range []struct {
					block    []byte
					withinIt bool
				}{{far, false}, {near, true}} {
					msg := append(bytes.Clone(tt.block), tt.block...)
					for _, prepared := range []bool{false, true} {
						if prepared {
							pm, err := NewPreparedMessage(BinaryMessage, msg)
							require.NoError(t, err)
							require.NoError(t, c.WritePreparedMessage(pm))
						} else {
							require.NoError(t, c.WriteMessage(BinaryMessage, msg))
						}
						payload := readCompressed(t, p)
						require.True(t, bytes.Equal(msg, p.inflate(payload)), "the message inflates")
						if tt.withinIt {
							assert.Less(t, len(payload), len(tt.block)+len(tt.block)/4, "the repeat within the window is referred to")
						} else if bits < maxWindowBits {
							assert.Greater(t, len(payload), 2*len(tt.block)*95/100, "the repeat beyond the window is not referred to")
						}
					}
				}
			})
		}
	}
}

// readCompressed reads the frames of one compressed message and returns
// its payload as it was on the wire.
func readCompressed(t *testing.T, p *deflatePeer) []byte {
	t.Helper()
	var payload []byte
	for i := 0; ; i++ {
		f, err := p.readFrame()
		require.NoError(t, err)
		if i == 0 {
			require.NotZero(t, f.first&rsv1, "compressed")
		}
		payload = append(payload, f.payload...)
		if f.first&fin != 0 {
			return payload
		}
	}
}

// TestClientWindowBits: a server that limits our client's window
// (client_max_window_bits, which the client offers) has it kept to, by
// WriteMessage and by a PreparedMessage: a repeat farther back than the
// window is not referred to, and the message inflates.
func TestClientWindowBits(t *testing.T) {
	p, err := acceptDeflate([]string{"permessage-deflate; client_max_window_bits=15"}, CompressionContextTakeover)
	require.NoError(t, err)
	assert.Equal(t, maxWindowBits, p.windowBits())
	p, err = acceptDeflate([]string{"permessage-deflate; client_no_context_takeover; client_max_window_bits=9"}, CompressionNoContextTakeover)
	require.NoError(t, err)
	require.Equal(t, 9, p.windowBits())
	synctest.Test(t, func(t *testing.T) {
		s, c := clientPipe(t, connConfig{deflate: p, deflateMin: -1})
		block := make([]byte, 1<<9+256) // repeats beyond the window
		_, _ = rand.NewChaCha8([32]byte{9}).Read(block)
		msg := append(bytes.Clone(block), block...)
		pm, err := NewPreparedMessage(BinaryMessage, msg)
		require.NoError(t, err)
		go func() {
			_ = c.WriteMessage(BinaryMessage, msg)
			_ = c.WritePreparedMessage(pm)
		}()
		for range 2 {
			f, err := s.readFrame()
			require.NoError(t, err)
			require.Equal(t, byte(fin|rsv1|wBinary), f.first)
			assert.Greater(t, len(f.payload), 2*len(block)*95/100, "the repeat beyond the window is not referred to")
			out, err := io.ReadAll(stdflate.NewReader(io.MultiReader(bytes.NewReader(f.payload), bytes.NewReader(deflateTail[:]))))
			if err == io.ErrUnexpectedEOF {
				err = nil // the stream stops after the tail
			}
			require.NoError(t, err)
			assert.True(t, bytes.Equal(msg, out))
		}
	})
}
