package websocket_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/a60656ec/websocket"
)

// echoServer is a loopback WebSocket server that sends every message back
// as it came, for the examples whose subject is what a client does. It
// serves each connection with Conn.Serve, so that the examples need no
// goroutine of their own for the server side.
type echoServer struct {
	// URL is the ws:// address to Dial.
	URL string

	http  *httptest.Server
	group websocket.Group
	// served counts the connections whose onEnd has not returned yet, so
	// that Close can wait for them and leave no goroutine behind.
	served sync.WaitGroup
}

// startEchoServer listens on 127.0.0.1 and upgrades every request with a
// copy of upgrader, its Group replaced by the server's own.
func startEchoServer(upgrader websocket.Upgrader) *echoServer {
	s := &echoServer{}
	upgrader.Group = &s.group
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Counted before the 101 response goes out, hence before Dial
		// returns and before an example can call Close.
		s.served.Add(1)
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			s.served.Done()
			return // the client got an HTTP error, and Dial says so
		}
		err = conn.Serve(func(typ websocket.MessageType, msg io.Reader) {
			w, err := conn.NextWriter(typ)
			if err != nil {
				return // the connection is closing
			}
			_, _ = io.Copy(w, msg)
			_ = w.Close()
		}, func(websocket.CloseEvent) { s.served.Done() })
		if err != nil { // only for bad arguments: onEnd will not run
			s.served.Done()
			_ = conn.Terminate()
		}
	}))
	s.URL = "ws://" + s.http.Listener.Addr().String()
	return s
}

// Close closes the connections an example left open, with the closing
// handshake, and waits until every one has ended and the listener is
// closed.
func (s *echoServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = s.group.Shutdown(ctx, websocket.StatusGoingAway, "")
	s.served.Wait()
	s.http.Close()
}
