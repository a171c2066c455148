package wsprom

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

// What the tests drive over loopback, and what they learn of it on the
// way, from which they build the metrics they expect.

// waitBound bounds every wait on the connections' events.
const waitBound = 10 * time.Second

// terminateCommand makes the echo server terminate the connection instead
// of echoing.
const terminateCommand = "terminate"

// echoServer echoes every message, counting with stats and reporting each
// end and each echo written.
type echoServer struct {
	upgrader websocket.Upgrader
	ends     chan websocket.ConnEnd // every server-side end, from OnEnd
	echoed   chan int               // the size of each echo, once written
}

func newEchoServer(stats *websocket.Stats) *echoServer {
	s := &echoServer{ends: make(chan websocket.ConnEnd, 16), echoed: make(chan int, 16)}
	s.upgrader = websocket.Upgrader{
		Stats:                stats,
		OnEnd:                func(end websocket.ConnEnd) { s.ends <- end },
		Compression:          websocket.CompressionNoContextTakeover,
		CompressionThreshold: -1, // compress every message of a client that offers it
	}
	return s
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
		if string(msg) == terminateCommand {
			conn.Terminate()
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

// wsURL is the WebSocket URL of the test server's root.
func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// echoRoundTrip sends msg and checks it comes back.
func echoRoundTrip(t *testing.T, conn *websocket.Conn, msg []byte) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	_, got, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read the echo of %q: %v", msg, err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo: got %q, want %q", got, msg)
	}
}

// dial opens a connection to srv with d, closing it at the end of the test.
func dial(t *testing.T, d *websocket.Dialer, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	conn, _, err := d.DialContext(ctx, wsURL(srv), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Terminate() })
	return conn
}

// refuse sends srv a request that is not an upgrade and checks its status.
func refuse(t *testing.T, srv *httptest.Server, method string, wantStatus int) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s: status %d, want %d", method, resp.StatusCode, wantStatus)
	}
}

// readUntilEnd reads until the connection fails, as a client whose server
// dropped it does.
func readUntilEnd(t *testing.T, conn *websocket.Conn) {
	t.Helper()
	for range 100 {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
	}
	t.Fatal("the connection did not end")
}
