package front

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every dial, request and wait of these tests.
const testTimeout = 10 * time.Second

// backend is a stand-in for a chat process: GET / answers its name, and
// /ws upgrades, sends its name as the first message, then echoes.
type backend struct {
	name  string
	srv   *httptest.Server
	group *websocket.Group
	url   *url.URL
}

// startBackend serves a backend named name on 127.0.0.1.
func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name, group: &websocket.Group{}}
	upgrader := &websocket.Upgrader{Group: b.group}
	var handlers sync.WaitGroup
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, name+" got "+string(body))
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // 503 while the group drains
		}
		if conn.WriteMessage(websocket.TextMessage, []byte(name)) != nil {
			return
		}
		for {
			typ, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if conn.WriteMessage(typ, data) != nil {
				return
			}
		}
	})
	b.srv = httptest.NewServer(mux)
	b.url = mustURL(t, b.srv.URL)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		b.group.Shutdown(ctx, websocket.StatusGoingAway, "test over")
		handlers.Wait()
		b.srv.Close()
	})
	return b
}

// refusingBackend answers every request 503, as a draining process
// answers an upgrade, and counts them.
func refusingBackend(t *testing.T) (*url.URL, *countingHandler) {
	t.Helper()
	h := &countingHandler{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return mustURL(t, srv.URL), h
}

// countingHandler answers 503 and counts the requests it refused.
type countingHandler struct {
	mu sync.Mutex
	n  int
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	http.Error(w, "draining", http.StatusServiceUnavailable)
}

func (h *countingHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// deadBackend returns the address of a loopback port nothing listens on:
// it was listened on, then closed.
func deadBackend(t *testing.T) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return mustURL(t, "http://"+addr)
}

// recorder keeps the attempts a front reported.
type recorder struct {
	mu       sync.Mutex
	attempts []Attempt
}

func (r *recorder) observe(a Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
}

func (r *recorder) all() []Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Attempt(nil), r.attempts...)
}

// startFront serves a Proxy for backends on 127.0.0.1 and records its
// attempts.
func startFront(t *testing.T, backends ...*url.URL) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	p, err := New(backends, Options{Observe: rec.observe})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		srv.Close()
		p.CloseIdleConnections()
	})
	return srv, rec
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(t, http.MethodGet, url, "")
}

// do sends a request with body (none when empty) and returns the status
// and body of the answer.
func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// dialThrough opens a WebSocket to the front's /ws and returns it with the
// name of the backend that answered, which the backend sends first.
func dialThrough(t *testing.T, front *httptest.Server) (*websocket.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	// A browser sends its page's origin, which is the front's.
	conn, _, err := websocket.Dial(ctx, wsURL(front), http.Header{"Origin": {front.URL}})
	if err != nil {
		t.Fatalf("dial through the front: %v", err)
	}
	t.Cleanup(func() { conn.Terminate() })
	conn.SetReadDeadline(time.Now().Add(testTimeout))
	typ, data, err := conn.ReadMessage()
	if err != nil || typ != websocket.TextMessage {
		t.Fatalf("first message: %v, %v", typ, err)
	}
	return conn, string(data)
}

// dialRefused opens a WebSocket through the front, which must refuse it,
// and returns the refusal.
func dialRefused(t *testing.T, front *httptest.Server) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, wsURL(front), nil)
	if err == nil {
		conn.Terminate()
		t.Fatal("the upgrade went through; want it refused")
	}
	if resp == nil {
		t.Fatalf("the upgrade failed without an answer: %v", err)
	}
	return resp
}

func wsURL(front *httptest.Server) string {
	return "ws" + strings.TrimPrefix(front.URL, "http") + "/ws"
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
