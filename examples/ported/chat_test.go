package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChat ports gorilla's chat, runs it, and chats through it with three
// clients of this package.
func TestChat(t *testing.T) {
	dir := portForTest(t, "chat", "gorilla/websocket")
	bin := buildForTest(t, dir)
	addr := freeLoopbackAddr(t)
	// The chat serves home.html from its working directory.
	p := startProcess(t, bin, dir, "-addr", addr)
	waitListening(t, p, addr)

	t.Run("home page", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://" + addr + "/")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, string(body), "<title>Chat Example</title>")
		assert.Contains(t, string(body), `new WebSocket("ws://" + document.location.host + "/ws")`)
	})

	t.Run("every client gets each message once, and leaves cleanly", func(t *testing.T) {
		var clients []*chatClient
		for i := range 3 {
			c := dialChat(t, addr, fmt.Sprintf("client %d", i))
			// The hub registers a client before reading from it, so a
			// client that gets its own message back is registered.
			c.send(t, "hello from "+c.name)
			c.readUntil(t, "hello from "+c.name)
			clients = append(clients, c)
		}

		const msg = "the one message"
		clients[0].send(t, msg)
		// The hub sends each client its messages in order: once "over"
		// arrives, msg has arrived as often as it ever will.
		clients[0].send(t, "over")
		for _, c := range clients {
			lines := c.readUntil(t, "over")
			assert.Equal(t, 1, count(lines, msg), "%s got %q", c.name, lines)
		}

		// One leaves with the closing handshake; the others chat on.
		leaver := clients[2]
		require.NoError(t, leaver.conn.Close(websocket.StatusNormalClosure, "bye"))
		ev := leaver.conn.CloseEvent()
		assert.True(t, ev.WasClean, "close event %+v", ev)
		assert.Equal(t, websocket.StatusNormalClosure, ev.Code, "the server answers with the client's code")
		assert.Equal(t, websocket.SideLocal, ev.Initiator)

		clients[1].send(t, "still here")
		for _, c := range clients[:2] {
			lines := c.readUntil(t, "still here")
			assert.Equal(t, 1, count(lines, "still here"), "%s got %q", c.name, lines)
		}
		for _, c := range clients[:2] {
			require.NoError(t, c.conn.Close(websocket.StatusGoingAway, ""))
			assert.True(t, c.conn.CloseEvent().WasClean, c.name)
		}
	})

	require.NoError(t, p.cmd.Process.Kill())
	_ = p.waitExit(t)
}

// A chatClient is a connection to the chat that keeps the lines it read.
type chatClient struct {
	name string
	conn *websocket.Conn
}

func dialChat(t *testing.T, addr, name string) *chatClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	require.NoError(t, err, name)
	t.Cleanup(func() { _ = conn.Terminate() })
	return &chatClient{name: name, conn: conn}
}

func (c *chatClient) send(t *testing.T, line string) {
	t.Helper()
	require.NoError(t, c.conn.WriteMessage(websocket.TextMessage, []byte(line)), c.name)
}

// readUntil reads messages until one holds the line want, and returns the
// lines read. The chat puts the messages queued for a client in one
// message, a line each.
func (c *chatClient) readUntil(t *testing.T, want string) []string {
	t.Helper()
	// A read deadline that passes ends the connection: a failure here.
	require.NoError(t, c.conn.SetReadDeadline(time.Now().Add(waitLimit)))
	var lines []string
	for {
		typ, msg, err := c.conn.ReadMessage()
		require.NoError(t, err, "%s waiting for %q after %q", c.name, want, lines)
		require.Equal(t, websocket.TextMessage, typ)
		got := strings.Split(string(msg), "\n")
		lines = append(lines, got...)
		if count(got, want) > 0 {
			require.NoError(t, c.conn.SetReadDeadline(time.Time{}))
			return lines
		}
	}
}

func count(lines []string, want string) int {
	n := 0
	for _, line := range lines {
		if line == want {
			n++
		}
	}
	return n
}

// freeLoopbackAddr returns a loopback address with a port nothing
// listens on, for a program that takes an address but cannot say which
// port it got for port 0.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// waitListening waits for the process to accept connections at addr. The
// chat says nothing when it starts listening, so the test tries to
// connect, a bounded number of times.
func waitListening(t *testing.T, p *process, addr string) {
	t.Helper()
	const tries, pause = 1500, 20 * time.Millisecond // waitLimit in all
	for range tries {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			require.NoError(t, conn.Close())
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("exited (%v) before listening on %s", p.err, addr)
		case <-time.After(pause):
		}
	}
	t.Fatalf("not listening on %s after %d tries", addr, tries)
}
