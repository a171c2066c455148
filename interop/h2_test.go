package interop

import (
	"context"
	_ "embed"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/require"
)

// WebSockets over HTTP/2 (RFC 8441) with headless Chromium: the page
// comes from https://127.0.0.1 (httptest's self-signed certificate, which
// the browser is told to accept), and its WebSockets open as extended
// CONNECT streams on the page's HTTP/2 connection.

//go:embed browser/h2.html
var h2HTML []byte

// h2Server is a scenario server over TLS with HTTP/2 that records how
// each WebSocket request arrived and counts TCP connections.
type h2Server struct {
	*scenarioServer
	arrived *queue[string] // "HTTP/2.0 CONNECT" and the like, per /ws request
	tcp     atomic.Int32   // TCP connections accepted

	mu      sync.Mutex
	clients map[string]bool // the client addresses of all requests: one per TCP connection used
}

func newH2Server(t *testing.T, u websocket.Upgrader) *h2Server {
	t.Helper()
	s := &h2Server{
		scenarioServer: &scenarioServer{upgrader: u, conns: newQueue[*serverConn](), refused: newQueue[error]()},
		arrived:        newQueue[string](),
	}
	s.clients = map[string]bool{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(h2HTML)
	})
	mux.HandleFunc("GET /proto", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Proto))
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		s.arrived.push(r.Proto + " " + r.Method)
		// serveWS reads until the connection has ended, so the handler
		// lives as long as the Conn, as Upgrade asks over HTTP/2.
		s.serveWS(w, r)
	})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.clients[r.RemoteAddr] = true
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.tcp.Add(1)
		}
	}
	srv.StartTLS()
	s.Server = srv
	t.Cleanup(func() {
		for {
			sc, ok := s.conns.pop(0)
			if !ok {
				break
			}
			_ = sc.Terminate()
		}
		waitGroup(t, &s.handlers, eventTimeout, "the server's handlers to return")
		s.Close()
	})
	return s
}

// page is the browser's h2.html, with its events sorted by socket.
type page struct {
	*client
	pending []event
}

// next returns the next event of socket id, keeping the others' for later.
func (p *page) next(t *testing.T, id int) event {
	t.Helper()
	for i, ev := range p.pending {
		if ev.Conn == id {
			p.pending = append(p.pending[:i], p.pending[i+1:]...)
			return ev
		}
	}
	deadline := time.Now().Add(eventTimeout)
	for {
		ev, ok := p.events.pop(time.Until(deadline))
		require.True(t, ok, "socket %d reported nothing within %v (others: %v)", id, eventTimeout, p.pending)
		if ev.Conn == id {
			return ev
		}
		p.pending = append(p.pending, ev)
	}
}

func (p *page) expect(t *testing.T, id int, kind string) event {
	t.Helper()
	ev := p.next(t, id)
	require.Equal(t, kind, ev.Event, "socket %d: want %s, got %v", id, kind, ev)
	return ev
}

// open opens socket id and returns the server's end, after checking that
// it arrived as an HTTP/2 extended CONNECT.
func (p *page) open(t *testing.T, s *h2Server, id int) *serverConn {
	t.Helper()
	p.send(t, command{Op: "open", Conn: id, URL: "wss" + s.URL[len("https"):] + "/ws"})
	p.expect(t, id, "open")
	how, ok := s.arrived.pop(eventTimeout)
	require.True(t, ok)
	require.Equal(t, "HTTP/2.0 CONNECT", how, "socket %d did not come as an extended CONNECT", id)
	return s.accept(t)
}

// echo checks that socket id still carries messages both ways.
func (p *page) echo(t *testing.T, sc *serverConn, id int, text string) {
	t.Helper()
	p.send(t, command{Op: "send", Conn: id, Data: text})
	require.Equal(t, text, string(sc.nextMessage(t).data))
	ev := p.expect(t, id, "message")
	require.Equal(t, text, ev.Data)
}

// fetch checks that an ordinary request from the page works, over HTTP/2.
func (p *page) fetch(t *testing.T, s *h2Server) {
	t.Helper()
	const id = 99
	p.send(t, command{Op: "fetch", Conn: id, URL: s.URL + "/proto"})
	ev := p.expect(t, id, "fetched")
	require.Equal(t, 200, ev.Status)
	require.Equal(t, "HTTP/2.0", ev.Data)
}

// expectClose returns socket id's close event, skipping an error event
// before it.
func (p *page) expectClose(t *testing.T, id int) event {
	t.Helper()
	ev := p.next(t, id)
	if ev.Event == "error" {
		ev = p.next(t, id)
	}
	require.Equal(t, "close", ev.Event, "socket %d: %v", id, ev)
	return ev
}

// TestH2Browser: Chromium opens its WebSockets as extended CONNECT
// streams on the page's HTTP/2 connection; each way to end one ends that
// stream alone, as the browser reports it.
func TestH2Browser(t *testing.T) {
	requirePeer(t, chromium)
	group := &websocket.Group{}
	u := scenarioUpgrader()
	u.Group = group
	s := newH2Server(t, u)
	p := &page{client: startBrowser(t, s.URL+"/")}

	// Two sockets and a request from the page.
	sc1 := p.open(t, s, 1)
	sc2 := p.open(t, s, 2)
	p.echo(t, sc1, 1, "one")
	p.echo(t, sc2, 2, "two")
	p.fetch(t, s)

	// The server closes socket 1: both sides see a clean 4001.
	require.NoError(t, sc1.Close(4001, "bye"))
	ev := p.expectClose(t, 1)
	require.Equal(t, 4001, ev.Code)
	require.Equal(t, "bye", ev.Reason)
	require.True(t, *ev.WasClean)
	require.Equal(t, websocket.CloseEvent{Code: 4001, Reason: "bye", WasClean: true, Initiator: websocket.SideLocal},
		sc1.waitDone(t, promptly))

	// The browser closes socket 2: both sides see a clean 4002.
	p.send(t, command{Op: "close", Conn: 2, Code: 4002, Reason: "later"})
	err := sc2.waitReadErr(t, promptly)
	require.Equal(t, websocket.StatusCode(4002), websocket.CloseStatus(err))
	ev = p.expectClose(t, 2)
	require.Equal(t, 4002, ev.Code)
	require.Equal(t, "later", ev.Reason)
	require.True(t, *ev.WasClean)
	require.Equal(t, websocket.CloseEvent{Code: 4002, Reason: "later", WasClean: true, Initiator: websocket.SidePeer},
		sc2.waitDone(t, promptly))

	// Terminate resets socket 3's stream: the browser sees 1006, and
	// socket 4 and the page's requests go on.
	sc3 := p.open(t, s, 3)
	sc4 := p.open(t, s, 4)
	require.NoError(t, sc3.Terminate())
	ev = p.expectClose(t, 3)
	require.Equal(t, 1006, ev.Code)
	require.False(t, *ev.WasClean)
	require.ErrorIs(t, sc3.waitDone(t, promptly).Err, websocket.ErrTerminated)
	p.echo(t, sc4, 4, "four")
	p.fetch(t, s)

	// The drain closes sockets 4 and 5 with 1001.
	sc5 := p.open(t, s, 5)
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	res, err := group.Shutdown(ctx, websocket.StatusGoingAway, "restart")
	require.NoError(t, err)
	require.Equal(t, websocket.ShutdownResult{Clean: 2}, res, "sockets 4 and 5")
	for _, id := range []int{4, 5} {
		ev := p.expectClose(t, id)
		require.Equal(t, 1001, ev.Code, "socket %d", id)
		require.Equal(t, "restart", ev.Reason)
		require.True(t, *ev.WasClean)
	}
	require.True(t, sc4.waitDone(t, promptly).WasClean)
	require.True(t, sc5.waitDone(t, promptly).WasClean)

	// Chromium may open a spare connection that never carries a request;
	// every request went over one.
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Len(t, s.clients, 1, "the page, its requests and its sockets on one TCP connection")
	t.Logf("TCP connections accepted: %d, used: %d", s.tcp.Load(), len(s.clients))
}
