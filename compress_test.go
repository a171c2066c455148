package websocket

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNegotiateDeflate(t *testing.T) {
	const (
		both  = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
		plain = "permessage-deflate"
	)
	tests := []struct {
		name   string
		offers []string
		mode   CompressionMode
		want   string // "" when declined
		params deflateParams
	}{
		{"off", []string{"permessage-deflate"}, CompressionDisabled, "", deflateParams{}},
		{"no offer", nil, CompressionNoContextTakeover, "", deflateParams{}},
		{"other extension", []string{"x-webkit-deflate-frame"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"plain offer, no context", []string{"permessage-deflate"}, CompressionNoContextTakeover, both, deflateParams{localNoContext: true, peerNoContext: true}},
		{"browser offer", []string{"permessage-deflate; client_max_window_bits"}, CompressionNoContextTakeover, both, deflateParams{localNoContext: true, peerNoContext: true}},
		{"plain offer, context", []string{"permessage-deflate"}, CompressionContextTakeover, plain, deflateParams{}},
		{"client asks server no context", []string{"permessage-deflate; server_no_context_takeover"}, CompressionContextTakeover, plain + "; server_no_context_takeover", deflateParams{localNoContext: true}},
		{"client no context", []string{"permessage-deflate; client_no_context_takeover"}, CompressionContextTakeover, plain + "; client_no_context_takeover", deflateParams{peerNoContext: true}},
		{"server window 15", []string{"permessage-deflate; server_max_window_bits=15"}, CompressionContextTakeover, plain + "; server_max_window_bits=15", deflateParams{}},
		{"quoted value", []string{`permessage-deflate; server_max_window_bits="15"`}, CompressionContextTakeover, plain + "; server_max_window_bits=15", deflateParams{}},
		{"server window 10", []string{"permessage-deflate; server_max_window_bits=10"}, CompressionContextTakeover, plain + "; server_max_window_bits=10", deflateParams{localWindowBits: 10}},
		{"server window 8, no context", []string{"permessage-deflate; server_max_window_bits=8"}, CompressionNoContextTakeover, both + "; server_max_window_bits=8", deflateParams{localNoContext: true, peerNoContext: true, localWindowBits: 8}},
		{"client window 10", []string{"permessage-deflate; client_max_window_bits=10"}, CompressionContextTakeover, plain, deflateParams{}},
		{"case and spaces", []string{" Permessage-Deflate ;  Client_No_Context_Takeover "}, CompressionContextTakeover, plain + "; client_no_context_takeover", deflateParams{peerNoContext: true}},
		{"server window 7 declined", []string{"permessage-deflate; server_max_window_bits=7"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"server window 16 declined", []string{"permessage-deflate; server_max_window_bits=16"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"server window without value", []string{"permessage-deflate; server_max_window_bits"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"client window 16", []string{"permessage-deflate; client_max_window_bits=16"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"client window 7", []string{"permessage-deflate; client_max_window_bits=7"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"client window not a number", []string{"permessage-deflate; client_max_window_bits=x"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"value on a flag", []string{"permessage-deflate; server_no_context_takeover=1"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"duplicate", []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"unknown parameter", []string{"permessage-deflate; x=1"}, CompressionNoContextTakeover, "", deflateParams{}},
		{"first bad, second good", []string{"permessage-deflate; server_max_window_bits=x, permessage-deflate; client_no_context_takeover"}, CompressionContextTakeover, plain + "; client_no_context_takeover", deflateParams{peerNoContext: true}},
		{"offers over two headers", []string{"permessage-deflate; x=1", "permessage-deflate; server_no_context_takeover"}, CompressionContextTakeover, plain + "; server_no_context_takeover", deflateParams{localNoContext: true}},
		{"first good wins", []string{"permessage-deflate; server_no_context_takeover, permessage-deflate"}, CompressionContextTakeover, plain + "; server_no_context_takeover", deflateParams{localNoContext: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, resp, ok := negotiateDeflate(tt.offers, tt.mode)
			assert.Equal(t, tt.want != "", ok)
			assert.Equal(t, tt.want, resp)
			assert.Equal(t, tt.params, params)
		})
	}
}

// deflatePeer is a peer that speaks permessage-deflate, written with
// compress/flate directly: it compresses what it sends and inflates what
// the server sends, keeping a window per direction when context is taken
// over.
type deflatePeer struct {
	*peer
	ownContext   bool // the peer keeps its compressor between messages
	serverWindow bool // the server does: inflate with its previous output
	fw           *flate.Writer
	out          bytes.Buffer
	window       []byte
}

func connectDeflate(t *testing.T, u *Upgrader, offer string) (*deflatePeer, *Conn, http.Header) {
	t.Helper()
	srv, conns := startServer(t, u)
	p, resp := dialResponse(t, srv.Listener.Addr().String(), http.Header{"Sec-WebSocket-Extensions": {offer}})
	c := <-conns
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	dp := &deflatePeer{
		peer:         p,
		ownContext:   !strings.Contains(ext, "client_no_context_takeover"),
		serverWindow: !strings.Contains(ext, "server_no_context_takeover"),
	}
	dp.fw, _ = flate.NewWriter(&dp.out, flate.BestCompression)
	return dp, c, resp.Header
}

// compress returns data compressed as one message's payload.
func (p *deflatePeer) compress(data []byte) []byte {
	p.out.Reset()
	if !p.ownContext {
		p.fw.Reset(&p.out)
	}
	_, _ = p.fw.Write(data)
	_ = p.fw.Flush()
	b := p.out.Bytes()
	require.True(p.t, bytes.HasSuffix(b, deflateTail[:]))
	return bytes.Clone(b[:len(b)-4])
}

// sendCompressed sends data as a compressed message in frames of at most
// chunk payload bytes.
func (p *deflatePeer) sendCompressed(op byte, data []byte, chunk int) {
	p.t.Helper()
	payload := p.compress(data)
	first := true
	for first || len(payload) > 0 {
		n := min(chunk, len(payload))
		b := byte(wCont)
		if first {
			b = op | rsv1
		}
		if n == len(payload) {
			b |= fin
		}
		p.send(b, payload[:n])
		payload = payload[n:]
		first = false
	}
}

// readMessage reads one server message, inflating it if RSV1 says so.
func (p *deflatePeer) readMessage() (byte, []byte, bool) {
	p.t.Helper()
	var payload []byte
	var first byte
	for i := 0; ; i++ {
		f, err := p.readFrame()
		require.NoError(p.t, err)
		if i == 0 {
			first = f.first
		} else {
			require.Zero(p.t, f.first&rsv1, "RSV1 on a continuation frame")
		}
		payload = append(payload, f.payload...)
		if f.first&fin != 0 {
			break
		}
	}
	if first&rsv1 == 0 {
		return first & 0x0F, payload, false
	}
	return first & 0x0F, p.inflate(payload), true
}

// inflate decompresses the payload of a message the server sent
// compressed, with the window its context takeover leaves.
func (p *deflatePeer) inflate(payload []byte) []byte {
	p.t.Helper()
	var dict []byte
	if p.serverWindow {
		dict = p.window
	}
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(deflateTail[:])), dict)
	out, err := io.ReadAll(r)
	if err == io.ErrUnexpectedEOF {
		err = nil // the stream stops after the tail, as it should
	}
	require.NoError(p.t, err)
	p.window = append(p.window, out...)
	if len(p.window) > windowSize {
		p.window = p.window[len(p.window)-windowSize:]
	}
	return out
}

// TestCompressionRoundTrip sends every size of message compressed, whole
// and in fragments, in both modes, and has the server echo it compressed.
func TestCompressionRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 127, 128, 1000, 4096, 70_000, 1 << 20}
	for _, mode := range []CompressionMode{CompressionNoContextTakeover, CompressionContextTakeover} {
		for _, chunk := range []int{1 << 30, 1000} {
			t.Run(fmt.Sprintf("mode %d chunk %d", mode, chunk), func(t *testing.T) {
				p, c, _ := connectDeflate(t, &Upgrader{Compression: mode, CompressionThreshold: -1}, "permessage-deflate; client_max_window_bits")
				go func() {
					for {
						typ, data, err := c.ReadMessage()
						if err != nil {
							return
						}
						if typ == BinaryMessage {
							// Stream it back, in pieces.
							w, err := c.NextWriter(typ)
							if err != nil {
								return
							}
							for len(data) > 0 {
								n := min(3000, len(data))
								_, _ = w.Write(data[:n])
								data = data[n:]
							}
							_ = w.Close()
						} else if c.WriteMessage(typ, data) != nil {
							return
						}
					}
				}()
				for round := range 2 { // the second round uses the context of the first
					for _, size := range sizes {
						data := []byte(strings.Repeat(fmt.Sprintf("{\"n\":%d,\"text\":\"héllo\"}", size), size/24+1))[:size]
						data = bytes.ToValidUTF8(data, nil)
						for _, op := range []byte{wText, wBinary} {
							p.sendCompressed(op, data, chunk)
							gotOp, got, compressed := p.readMessage()
							require.Equal(t, op, gotOp)
							require.True(t, compressed, "size %d round %d", size, round)
							require.Equal(t, len(data), len(got))
							require.True(t, bytes.Equal(data, got), "size %d round %d", size, round)
						}
					}
				}
			})
		}
	}
}

// TestCompressionWrites: short messages and messages after
// SetWriteCompression(false) go out uncompressed; RSV1 only on the first
// frame.
func TestCompressionWrites(t *testing.T) {
	p, c, _ := connectDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover}, "permessage-deflate")
	require.NoError(t, c.WriteMessage(TextMessage, []byte("short")))
	_, got, compressed := p.readMessage()
	assert.False(t, compressed, "below the threshold")
	assert.Equal(t, "short", string(got))

	long := strings.Repeat("compress me ", 100)
	require.NoError(t, c.WriteMessage(TextMessage, []byte(long)))
	_, got, compressed = p.readMessage()
	assert.True(t, compressed)
	assert.Equal(t, long, string(got))

	c.SetWriteCompression(false)
	require.NoError(t, c.WriteMessage(TextMessage, []byte(long)))
	_, got, compressed = p.readMessage()
	assert.False(t, compressed, "compression turned off")
	assert.Equal(t, long, string(got))
}

// TestCompressionViolations: RSV1 where it may not stand and data that does
// not inflate fail the connection with the right code.
func TestCompressionViolations(t *testing.T) {
	dp := &deflatePeer{peer: &peer{key: [4]byte{5, 6, 7, 8}}}
	dp.fw, _ = flate.NewWriter(&dp.out, flate.BestSpeed)
	tests := []struct {
		name   string
		wire   func(p *deflatePeer) []byte
		code   StatusCode
		want   error  // the sentinel the reader's error wraps
		reason string // in the close frame
	}{
		{"RSV1 on a continuation", func(p *deflatePeer) []byte {
			return append(p.frame(wText, []byte("a")), p.frame(fin|rsv1|wCont, []byte("b"))...)
		}, StatusProtocolError, ErrProtocol, "protocol error"},
		{"RSV1 on a ping", func(p *deflatePeer) []byte { return p.frame(fin|rsv1|wPing, nil) }, StatusProtocolError, ErrProtocol, "protocol error"},
		{"RSV2 on a compressed message", func(p *deflatePeer) []byte { return p.frame(fin|rsv1|rsv2|wText, p.compress([]byte("x"))) }, StatusProtocolError, ErrProtocol, "protocol error"},
		{"does not inflate", func(p *deflatePeer) []byte { return p.frame(fin|rsv1|wBinary, []byte{0xff, 0xff, 0xff}) }, StatusInvalidFramePayloadData, ErrBadCompressedData, "invalid compressed data"},
		{"inflates to bad UTF-8", func(p *deflatePeer) []byte { return p.frame(fin|rsv1|wText, p.compress([]byte("ok\xff"))) }, StatusInvalidFramePayloadData, ErrInvalidUTF8, "invalid UTF-8"},
		{"inflates past the limit", func(p *deflatePeer) []byte {
			return p.frame(fin|rsv1|wBinary, p.compress(make([]byte, 2<<20)))
		}, StatusMessageTooBig, ErrMessageTooBig, "message too big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, _ := connectDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover}, "permessage-deflate")
			msgs := readAll(c)
			dp.t = t
			dp.fw.Reset(&dp.out)
			p.sendRaw(tt.wire(dp))
			assert.Equal(t, tt.reason, p.wantClose(tt.code))
			p.wantEOF()
			p.conn.Close()
			m := <-msgs
			var pe *protocolError
			require.ErrorAs(t, m.err, &pe)
			assert.Equal(t, tt.code, pe.code())
			assert.ErrorIs(t, m.err, tt.want)
		})
	}
}

// TestDecompressionBomb: a small frame that inflates to far more than the
// read limit stops at the limit, and no more than about the limit is
// allocated, through ReadMessage and through NextReader.
func TestDecompressionBomb(t *testing.T) {
	const limit = 1 << 20
	for _, api := range []string{"ReadMessage", "NextReader"} {
		t.Run(api, func(t *testing.T) {
			p, c, _ := connectDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover, ReadLimit: limit}, "permessage-deflate")
			p.fw, _ = flate.NewWriter(&p.out, flate.BestSpeed)
			bomb := p.compress(make([]byte, 16<<20)) // 16 MiB of zeros
			require.Less(t, len(bomb), 64<<10)
			wire := p.frame(fin|rsv1|wBinary, bomb)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			go func() { _, _ = p.conn.Write(wire) }()
			var err error
			if api == "ReadMessage" {
				_, _, err = c.ReadMessage()
			} else {
				var r io.Reader
				if _, r, err = c.NextReader(); err == nil {
					_, err = io.Copy(io.Discard, r)
				}
			}
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, ErrMessageTooBig)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d KiB while reading a bomb of %d KiB", allocated>>10, len(bomb)>>10)
			assert.Less(t, allocated, uint64(limit+limit/2), "allocation bounded by the read limit")
			p.wantClose(StatusMessageTooBig)
		})
	}
}

// TestCompressionNotNegotiated: a client that offers nothing gets no
// extension, and RSV1 from it is a protocol error.
func TestCompressionNotNegotiated(t *testing.T) {
	p, c, header := connectDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover}, "x-unknown")
	assert.Empty(t, header.Get("Sec-WebSocket-Extensions"))
	msgs := readAll(c)
	p.send(fin|rsv1|wText, []byte("x"))
	p.wantClose(StatusProtocolError)
	p.wantEOF()
	p.conn.Close()
	assert.ErrorIs(t, (<-msgs).err, ErrProtocol)
}

// TestCompressedNearLimit: a message just under the read limit passes even
// when deflate makes it longer on the wire (random bytes do not shrink).
func TestCompressedNearLimit(t *testing.T) {
	const limit = 64 << 10
	p, c, _ := connectDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover, ReadLimit: limit}, "permessage-deflate")
	data := make([]byte, limit-4)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(data)
	go p.sendCompressed(wBinary, data, 1<<30)
	_, got, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, data, got)
}
