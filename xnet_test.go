package websocket

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xws "golang.org/x/net/websocket"
)

// These tests talk to the server through golang.org/x/net/websocket, a
// client written independently of this package.

// dialXNet connects an x/net client to a fresh server.
func dialXNet(t *testing.T, u *Upgrader) (*xws.Conn, *Conn) {
	t.Helper()
	srv, conns := startServer(t, u)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ws, err := xws.Dial(url, "", srv.URL)
	require.NoError(t, err)
	t.Cleanup(func() { ws.Close() })
	return ws, <-conns
}

func TestXNetEcho(t *testing.T) {
	ws, c := dialXNet(t, nil)
	go func() {
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if c.WriteMessage(typ, data) != nil {
				return
			}
		}
	}()
	for _, msg := range []string{"hello", "héllo wörld ✓ 𝄞", "", strings.Repeat("x", 200_000)} {
		require.NoError(t, xws.Message.Send(ws, msg))
		var got string
		require.NoError(t, xws.Message.Receive(ws, &got))
		assert.Equal(t, msg, got)
	}
	bin := []byte{0, 1, 2, 0xff, 0xfe}
	require.NoError(t, xws.Message.Send(ws, bin))
	var got []byte
	require.NoError(t, xws.Message.Receive(ws, &got))
	assert.Equal(t, bin, got)
}

// TestXNetClientCloses: the x/net client sends a close frame with 1000 and
// drops TCP; the server's reader gets that code.
func TestXNetClientCloses(t *testing.T) {
	ws, c := dialXNet(t, nil)
	msgs := readAll(c)
	require.NoError(t, xws.Message.Send(ws, "before"))
	require.NoError(t, ws.Close())
	assert.Equal(t, message{TextMessage, "before", nil}, <-msgs)
	m := <-msgs
	assert.Equal(t, StatusNormalClosure, CloseStatus(m.err))
	ev := wantDone(t, c)
	assert.Equal(t, StatusNormalClosure, ev.Code)
	assert.Equal(t, SidePeer, ev.Initiator)
}

// TestXNetServerCloses: the client sees the message, then the end; its
// close frame completes the server's handshake.
func TestXNetServerCloses(t *testing.T) {
	ws, c := dialXNet(t, nil)
	require.NoError(t, c.WriteMessage(TextMessage, []byte("last")))
	closed := make(chan error, 1)
	go func() { closed <- c.Close(4001, "bye") }()
	var got string
	require.NoError(t, xws.Message.Receive(ws, &got))
	assert.Equal(t, "last", got)
	assert.Equal(t, io.EOF, xws.Message.Receive(ws, &got))
	require.NoError(t, ws.Close())
	require.NoError(t, <-closed)
	ev := wantDone(t, c)
	assert.True(t, ev.WasClean)
	assert.Equal(t, StatusNormalClosure, ev.Code, "x/net answers with 1000")
}
