package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEcho ports coder's echo, runs the test it comes with, and talks to
// the ported server.
func TestEcho(t *testing.T) {
	dir := portForTest(t, "echo", "nhooyr.io/websocket")

	t.Run("its own test passes", func(t *testing.T) {
		out, err := runGo(dir, "test", "-race", "-count=1", "-v", ".")
		require.NoError(t, err)
		// A test that did not run would pass too.
		assert.Contains(t, string(out), "--- PASS: Test_echoServer")
	})

	bin := buildForTest(t, dir)
	// The echo takes its address as an argument and logs the one it got.
	p := startProcess(t, bin, dir, "127.0.0.1:0")
	addr := strings.TrimPrefix(p.waitLine(t, "listening on http://"), "listening on http://")
	// coder's clients dial http:// URLs; this package takes them too.
	url := "http://" + addr

	t.Run("a client without the echo subprotocol is refused with 1008", func(t *testing.T) {
		conn := dialEcho(t, url, nil)
		_, _, err := conn.ReadMessage()
		var ce *websocket.CloseError
		require.True(t, errors.As(err, &ce), "read error %v", err)
		assert.Equal(t, websocket.StatusPolicyViolation, ce.Code)
		assert.Equal(t, "client must speak the echo subprotocol", ce.Reason)
		ev := conn.CloseEvent()
		assert.True(t, ev.WasClean, "close event %+v", ev)
		assert.Equal(t, websocket.SidePeer, ev.Initiator)
	})

	t.Run("messages come back with their type, and Close is clean", func(t *testing.T) {
		conn := dialEcho(t, url, []string{"echo"})
		require.Equal(t, "echo", conn.Subprotocol())
		for _, m := range []struct {
			typ  websocket.MessageType
			data string
		}{
			{websocket.TextMessage, "hello"},
			{websocket.BinaryMessage, "\x00\xff binary"},
			{websocket.TextMessage, strings.Repeat("long ", 20000)},
		} {
			require.NoError(t, conn.WriteMessage(m.typ, []byte(m.data)))
			typ, data, err := conn.ReadMessage()
			require.NoError(t, err)
			assert.Equal(t, m.typ, typ)
			assert.Equal(t, m.data, string(data))
		}
		require.NoError(t, conn.Close(websocket.StatusNormalClosure, ""))
		ev := conn.CloseEvent()
		assert.True(t, ev.WasClean, "close event %+v", ev)
		assert.Equal(t, websocket.StatusNormalClosure, ev.Code)
	})

	// Its main shuts the server down on an interrupt and exits with 0.
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	assert.NoError(t, p.waitExit(t))
}

func dialEcho(t *testing.T, url string, subprotocols []string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, _, err := (&websocket.Dialer{Subprotocols: subprotocols}).DialContext(ctx, url, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Terminate() })
	return conn
}
