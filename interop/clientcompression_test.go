package interop

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Scenario C6: our client offers permessage-deflate (RFC 7692) to the peer
// servers, in each mode, and every message is compressed both ways: ws is
// told to compress every message (threshold 0), websockets always does,
// and our CompressionThreshold is -1.
func TestDialCompressedEcho(t *testing.T) {
	forEachServer(t, func(t *testing.T, sk serverKind) {
		ps := startServer(t, sk)
		for _, cm := range []struct {
			name string
			mode websocket.CompressionMode
		}{
			{"CompressionNoContextTakeover", websocket.CompressionNoContextTakeover},
			{"CompressionContextTakeover", websocket.CompressionContextTakeover},
		} {
			t.Run(cm.name, func(t *testing.T) {
				d := dialerFor()
				d.Compression = cm.mode
				d.CompressionThreshold = -1
				dc := dial(t, ps, d, true)
				takeover := deflateAnswered(t, ps, dc, cm.mode)
				compressedRoundTrips(t, ps, dc, takeover)
				ourCloseEnds(t, ps, dc, websocket.StatusNormalClosure, "compressed bye")
				assert.True(t, dc.tcp.serverClosedFirst(), "the server closed TCP before we did")
			})
		}
	})
}

// contextTakeover says, for each direction, whether the compressor keeps
// its context from one message to the next.
type contextTakeover struct{ ours, server bool }

// deflateAnswered checks that the server accepted permessage-deflate as
// our offer in mode allows, that the server reports the same answer and
// an extension in use, and returns which sides take their context over.
func deflateAnswered(t *testing.T, ps *peerServer, dc *dialed, mode websocket.CompressionMode) contextTakeover {
	t.Helper()
	answer := strings.Join(dc.resp.Header.Values("Sec-WebSocket-Extensions"), ", ")
	t.Logf("%s: answered %q; it runs %q", ps.name, answer, dc.open.Negotiated)
	require.True(t, strings.HasPrefix(answer, "permessage-deflate"), "the response's Sec-WebSocket-Extensions: %q", answer)
	assert.Equal(t, answer, dc.open.Extensions, "the server reports the answer it sent")
	assert.Contains(t, dc.open.Negotiated, "eflate", "the server runs the extension")
	params := map[string]bool{}
	for _, p := range strings.Split(answer, ";")[1:] {
		name, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[name] = true
	}
	if mode == websocket.CompressionNoContextTakeover {
		// We offered both no_context_takeover parameters; both servers
		// take up server_no_context_takeover, and client_no_context_takeover
		// we keep to whether or not it is named.
		assert.True(t, params["server_no_context_takeover"], "the server agreed to drop its context: %q", answer)
		return contextTakeover{}
	}
	assert.False(t, params["client_no_context_takeover"], "no parameter we did not offer: %q", answer)
	assert.False(t, params["server_no_context_takeover"], "no parameter we did not offer: %q", answer)
	return contextTakeover{ours: true, server: true}
}

// compressedRoundTrips sends compressible and incompressible messages of
// every kind and checks, through the watched socket, that the compressible
// ones travel shorter than their payload both ways, and that a repeated
// record travels shorter the second time exactly in the directions that
// take their context over.
func compressedRoundTrips(t *testing.T, ps *peerServer, dc *dialed, takeover contextTakeover) {
	t.Helper()
	// wire runs one round trip and returns the bytes it took each way.
	wire := func(name string, typ websocket.MessageType, data []byte) (out, in int64) {
		w0, r0 := dc.tcp.written.Load(), dc.tcp.read.Load()
		dialRoundTrip(t, ps, dc, name, typ, data)
		return dc.tcp.written.Load() - w0, dc.tcp.read.Load() - r0
	}

	record := jsonText(200)
	out1, in1 := wire("record, first copy", websocket.TextMessage, record)
	out2, in2 := wire("record, second copy", websocket.TextMessage, record)
	t.Logf("%s: the record took %d then %d bytes out, %d then %d in", ps.name, out1, out2, in1, in2)
	if takeover.ours {
		assert.Less(t, out2, out1, "we take our context over: the second copy is shorter")
	} else {
		assert.Equal(t, out1, out2, "no context takeover: both copies compress alike")
	}
	if takeover.server {
		assert.Less(t, in2, in1, "the server takes its context over: the second copy is shorter")
	} else {
		assert.Equal(t, in1, in2, "the server drops its context: both copies compress alike")
	}

	rng := rand.New(rand.NewPCG(compressionSeed, 0))
	compressible := []struct {
		name string
		typ  websocket.MessageType
		data []byte
	}{
		{"64 KiB JSON text", websocket.TextMessage, jsonText(64 << 10)},
		{"64 KiB binary records", websocket.BinaryMessage, recordBytes(64 << 10)},
		{"1 MiB text", websocket.TextMessage, mibText()},
	}
	for _, m := range compressible {
		out, in := wire(m.name, m.typ, m.data)
		t.Logf("%s: %s took %d bytes out, %d in", ps.name, m.name, out, in)
		assert.Less(t, out, int64(len(m.data)), "%s: compressed on the way out", m.name)
		assert.Less(t, in, int64(len(m.data)), "%s: compressed on the way back", m.name)
	}
	others := []struct {
		name string
		typ  websocket.MessageType
		data []byte
	}{
		{"empty text", websocket.TextMessage, []byte{}},
		{"empty binary", websocket.BinaryMessage, []byte{}},
		{"1 byte", websocket.BinaryMessage, []byte{0xff}},
		{"200 random bytes", websocket.BinaryMessage, randomBytes(rng, 200)},
		{"64 KiB random text", websocket.TextMessage, randomText(rng, 64<<10)},
		{"256 KiB random bytes", websocket.BinaryMessage, randomBytes(rng, 256<<10)},
		{"record, third copy", websocket.TextMessage, record},
	}
	for _, m := range others {
		wire(m.name, m.typ, m.data)
	}
	// A message through NextWriter, compressed as it is written.
	w, err := dc.NextWriter(websocket.TextMessage)
	require.NoError(t, err)
	streamed := jsonText(100 << 10)
	for i := 0; i < len(streamed); i += 7000 {
		_, err := w.Write(streamed[i:min(i+7000, len(streamed))])
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	ev := ps.expect(t, "message")
	requireSameBytes(t, streamed, []byte(ev.Data), "the streamed message, as the server got it")
	requireSameBytes(t, streamed, dc.nextMessage(t).data, "the streamed message's echo")
}
