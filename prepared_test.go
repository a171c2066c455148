package websocket

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPreparedMessageArguments: a bad type or text that is not UTF-8 is
// refused when the message is prepared; a nil one when it is written.
func TestPreparedMessageArguments(t *testing.T) {
	_, err := NewPreparedMessage(MessageType(9), []byte("x"))
	assert.Error(t, err)
	_, err = NewPreparedMessage(TextMessage, []byte("bad \xff"))
	assert.ErrorIs(t, err, ErrInvalidUTF8)
	data := []byte("kept")
	pm, err := NewPreparedMessage(BinaryMessage, data)
	require.NoError(t, err)
	data[0] = 'X'
	assert.Equal(t, BinaryMessage, pm.Type())
	assert.Equal(t, "kept", string(pm.plain.payload()), "a copy of the caller's slice")
	_, c := connect(t, nil)
	assert.ErrorIs(t, c.WritePreparedMessage(nil), errNilPrepared)
}

// TestPreparedMessageToPeers: one prepared message reaches connections of
// every kind, each as WriteMessage would have sent it; the frame is the
// same bytes for every server connection without context takeover, and
// the client's masking leaves the prepared frame as it was.
func TestPreparedMessageToPeers(t *testing.T) {
	long := strings.Repeat(`{"price":101.25,"symbol":"ACME"} `, 40)
	tests := []struct {
		name      string
		mode      CompressionMode
		threshold int
		off       bool // SetWriteCompression(false)
		want      bool // the message travels compressed
	}{
		{name: "no compression", mode: CompressionDisabled},
		{name: "no context takeover", mode: CompressionNoContextTakeover, want: true},
		{name: "context takeover", mode: CompressionContextTakeover, want: true},
		{name: "compression turned off", mode: CompressionNoContextTakeover, off: true},
		{name: "below the threshold", mode: CompressionNoContextTakeover, threshold: 4096},
	}
	pm, err := NewPreparedMessage(TextMessage, []byte(long))
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &Upgrader{Compression: tt.mode, CompressionThreshold: tt.threshold}
			// Two server connections, to a raw peer each.
			var payloads [][]byte
			for range 2 {
				p, c := connectDeflateMode(t, u)
				if tt.off {
					c.SetWriteCompression(false)
				}
				for round := range 2 { // the second goes on from the first's context
					require.NoError(t, c.WritePreparedMessage(pm))
					f, err := p.readFrame()
					require.NoError(t, err)
					assert.Equal(t, tt.want, f.first&rsv1 != 0, "compressed")
					require.Equal(t, byte(fin|wText), f.first&^rsv1)
					if round == 0 {
						payloads = append(payloads, f.payload)
					}
					got := f.payload
					if tt.want {
						got = p.inflate(f.payload)
					}
					require.Equal(t, long, string(got), "round %d", round)
				}
			}
			if tt.mode != CompressionContextTakeover {
				assert.Equal(t, payloads[0], payloads[1], "the same frame for both connections")
			}

			// A client connection masks its copy; the server reads it.
			client, server := dialPair(t, u, &Dialer{Compression: tt.mode, CompressionThreshold: tt.threshold})
			if tt.off {
				client.SetWriteCompression(false)
			}
			before := bytes.Clone(pm.plain.frame)
			require.NoError(t, client.WritePreparedMessage(pm))
			typ, got, err := server.ReadMessage()
			require.NoError(t, err)
			assert.Equal(t, TextMessage, typ)
			assert.Equal(t, long, string(got))
			assert.Equal(t, before, pm.plain.frame, "the prepared frame is not masked in place")
		})
	}
}

// connectDeflateMode connects a raw peer that offers permessage-deflate,
// the way a browser does, to a server upgrading with u.
func connectDeflateMode(t *testing.T, u *Upgrader) (*deflatePeer, *Conn) {
	p, c, _ := connectDeflate(t, u, "permessage-deflate; client_max_window_bits")
	return p, c
}

// TestPreparedMessageConcurrent writes one prepared message from many
// goroutines to many connections at once: every peer gets every copy
// whole.
func TestPreparedMessageConcurrent(t *testing.T) {
	const conns, writers = 6, 4
	pm, err := NewPreparedMessage(BinaryMessage, bytes.Repeat([]byte("fan-out "), 2000))
	require.NoError(t, err)
	u := &Upgrader{Compression: CompressionNoContextTakeover}
	var clients []*Conn
	var servers []*Conn
	for range conns {
		client, server := dialPair(t, u, &Dialer{Compression: CompressionNoContextTakeover})
		clients, servers = append(clients, client), append(servers, server)
	}
	var wg sync.WaitGroup
	for _, s := range servers {
		for range writers {
			wg.Go(func() { assert.NoError(t, s.WritePreparedMessage(pm)) })
		}
	}
	for i, c := range clients {
		for n := range writers {
			typ, got, err := c.ReadMessage()
			require.NoError(t, err, "client %d message %d", i, n)
			assert.Equal(t, BinaryMessage, typ)
			assert.True(t, bytes.Equal(pm.plain.payload(), got), fmt.Sprintf("client %d message %d", i, n))
		}
	}
	wg.Wait()
}

// TestPreparedMessageAfterClose: once Close has begun, a prepared message
// is refused as a data message is.
func TestPreparedMessageAfterClose(t *testing.T) {
	p, c := connect(t, nil)
	pm, err := NewPreparedMessage(TextMessage, []byte("late"))
	require.NoError(t, err)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(StatusNormalClosure, "") }()
	p.wantClose(StatusNormalClosure)
	assert.ErrorIs(t, c.WritePreparedMessage(pm), net.ErrClosed)
	p.sendClose(StatusNormalClosure, "")
	p.wantEOF()
	require.NoError(t, <-closed)
	assert.ErrorIs(t, c.WritePreparedMessage(pm), net.ErrClosed)
}
