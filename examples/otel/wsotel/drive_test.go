package wsotel

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
)

// What the test drives over loopback: an echo server with two commands
// that end the connection from the server's side, and the client's steps.

// waitBound bounds every wait on the connections' events.
const waitBound = 10 * time.Second

// The echo server's commands.
const (
	terminateCommand = "terminate" // Terminate the connection
	closeCommand     = "close"     // Close it with StatusGoingAway
)

// echoServer echoes every message, reporting each echo written.
type echoServer struct {
	upgrader websocket.Upgrader
	echoed   chan int // the size of each echo, once written
}

func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		switch string(msg) {
		case terminateCommand:
			conn.Terminate()
			return
		case closeCommand:
			_ = conn.Close(websocket.StatusGoingAway, "bye")
			return
		}
		if err := conn.WriteMessage(typ, msg); err != nil {
			return
		}
		s.echoed <- len(msg)
	}
}

// receive returns the next value of ch, failing the test when none comes
// within waitBound.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitBound):
		t.Fatalf("no %s within %v", what, waitBound)
		panic("unreachable")
	}
}

// dial opens a connection to srv with d, dropped at the end of the test.
func dial(t *testing.T, d *websocket.Dialer, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	conn, _, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Terminate() })
	return conn
}

// send writes msg as a text message.
func send(t *testing.T, conn *websocket.Conn, msg string) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
}

// echoRoundTrip sends msg and checks it comes back.
func echoRoundTrip(t *testing.T, conn *websocket.Conn, msg string) {
	t.Helper()
	send(t, conn, msg)
	_, got, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read the echo of %q: %v", msg, err)
	}
	if !bytes.Equal(got, []byte(msg)) {
		t.Fatalf("echo: got %q, want %q", got, msg)
	}
}

// readUntilEnd reads until the connection ends, as a client whose server
// closed or dropped it does.
func readUntilEnd(t *testing.T, conn *websocket.Conn) {
	t.Helper()
	for range 100 {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
	}
	t.Fatal("the connection did not end")
}
