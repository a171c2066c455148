package front

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
)

// TestWebSocketThroughFront checks that a WebSocket works through the
// front as it does without it: the browser's Origin is accepted (the front
// keeps the Host it was sent), messages go both ways whole, and a
// backend's drain reaches the client as its own clean 1012.
func TestWebSocketThroughFront(t *testing.T) {
	a := startBackend(t, "a")
	front, rec := startFront(t, a.url)
	conn, name := dialThrough(t, front)
	if name != "a" {
		t.Fatalf("socket on %q, want a", name)
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB, many reads
	for _, m := range []struct {
		typ  websocket.MessageType
		data []byte
	}{
		{websocket.TextMessage, []byte("hello")},
		{websocket.BinaryMessage, []byte{0, 1, 2, 0xff}},
		{websocket.BinaryMessage, big},
	} {
		if err := conn.WriteMessage(m.typ, m.data); err != nil {
			t.Fatal(err)
		}
		typ, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ != m.typ || !bytes.Equal(data, m.data) {
			t.Errorf("echo of a %d-byte message: type %v, %d bytes", len(m.data), typ, len(data))
		}
	}

	// The backend drains as a chat process does on SIGTERM.
	drained := make(chan websocket.ShutdownResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		res, _ := a.group.Shutdown(ctx, websocket.StatusServiceRestart, "restarting")
		drained <- res
	}()
	if _, _, err := conn.ReadMessage(); err == nil {
		t.Fatal("read a message after the drain began; want the close")
	}
	select {
	case <-conn.Done():
	case <-time.After(testTimeout):
		t.Fatal("the connection did not end after the close handshake")
	}
	ev := conn.CloseEvent()
	if ev.Code != websocket.StatusServiceRestart || ev.Reason != "restarting" || !ev.WasClean {
		t.Errorf("close event %+v, want a clean 1012 \"restarting\"", ev)
	}
	if res := <-drained; res.Clean != 1 || res.Terminated != 0 {
		t.Errorf("drain %+v, want one clean close", res)
	}

	var upgrades int
	for _, at := range rec.all() {
		if at.Upgrade() {
			upgrades++
			if at.Status != http.StatusSwitchingProtocols {
				t.Errorf("upgrade attempt %+v, want 101", at)
			}
		}
	}
	if upgrades != 1 {
		t.Errorf("%d upgrade attempts, want 1", upgrades)
	}
}
