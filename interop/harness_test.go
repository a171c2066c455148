package interop

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Bounds of the waits. None is a sleep: each bounds a wait on a channel or
// an event that normally comes at once.
const (
	// eventTimeout bounds any wait for something that should happen.
	eventTimeout = 10 * time.Second
	// promptly is how soon an end must be seen: well inside the close
	// timeout, and far above what loopback needs.
	promptly = 2 * time.Second
	// closeTimeout is the Upgrader's CloseTimeout in these tests.
	closeTimeout = 5 * time.Second
)

// queue is an unbounded FIFO: producers never block, a consumer waits for
// the next item with a timeout.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	signal chan struct{} // holds a token while items is not empty
}

func newQueue[T any]() *queue[T] { return &queue[T]{signal: make(chan struct{}, 1)} }

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pop returns the next item, or false when none came within timeout.
func (q *queue[T]) pop(timeout time.Duration) (T, bool) { return q.popUnless(timeout, nil) }

// popUnless is pop that also gives up, when the queue is empty, once stop
// is closed: the producer has ended.
func (q *queue[T]) popUnless(timeout time.Duration, stop <-chan struct{}) (T, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	stopped := false
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			v := q.items[0]
			q.items = q.items[1:]
			if len(q.items) > 0 {
				select {
				case q.signal <- struct{}{}:
				default:
				}
			}
			q.mu.Unlock()
			return v, true
		}
		q.mu.Unlock()
		var zero T
		if stopped {
			return zero, false
		}
		select {
		case <-q.signal:
		case <-stop:
			stopped = true
		case <-timer.C:
			return zero, false
		}
	}
}

// message is a data message as the server's reader got it.
type message struct {
	typ  websocket.MessageType
	data []byte
}

// scenarioServer is an httptest server on 127.0.0.1 built on the package:
// / serves the browser harness page, /ws upgrades with the scenario's
// Upgrader and echoes every message until the connection ends. The
// application is always reading, so pings are answered and close frames
// acted on.
type scenarioServer struct {
	*httptest.Server
	upgrader websocket.Upgrader
	conns    *queue[*serverConn] // upgraded connections, in order
	refused  *queue[error]       // Upgrade's errors
	handlers sync.WaitGroup
}

//go:embed browser/harness.html
var harnessHTML []byte

func newScenarioServer(t *testing.T, u websocket.Upgrader) *scenarioServer {
	t.Helper()
	s := &scenarioServer{upgrader: u, conns: newQueue[*serverConn](), refused: newQueue[error]()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serveHarness)
	mux.HandleFunc("/ws", s.serveWS)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.Close()
		// Hijacked connections outlive Close: end any left, and wait
		// for their handlers.
		for {
			sc, ok := s.conns.pop(0)
			if !ok {
				break
			}
			_ = sc.Terminate()
		}
		waitGroup(t, &s.handlers, eventTimeout, "the server's handlers to return")
	})
	return s
}

func serveHarness(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(harnessHTML)
}

func (s *scenarioServer) wsURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws" }

func (s *scenarioServer) serveWS(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.refused.push(err)
		return
	}
	sc := &serverConn{
		Conn:     conn,
		offer:    strings.Join(r.Header.Values("Sec-WebSocket-Extensions"), ", "),
		msgs:     newQueue[message](),
		readDone: make(chan struct{}),
	}
	s.conns.push(sc)
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			sc.readErr = err
			close(sc.readDone)
			return
		}
		sc.msgs.push(message{typ, data})
		// A write fails once Close has begun; the next read says how the
		// connection ended.
		_ = echo(conn, typ, data)
	}
}

// streamAbove is the size above which the server echoes a message through
// NextWriter, so that it goes out in fragments (one per write buffer of
// 4096 bytes) and text splits inside characters between fragments. Smaller
// messages go out whole, in one frame, through WriteMessage.
const streamAbove = 64 << 10

func echo(conn *websocket.Conn, typ websocket.MessageType, data []byte) error {
	if len(data) <= streamAbove {
		return conn.WriteMessage(typ, data)
	}
	w, err := conn.NextWriter(typ)
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n := min(len(data), 1000) // odd-sized writes, across fragment boundaries
		if _, err := w.Write(data[:n]); err != nil {
			_ = w.Close()
			return err
		}
		data = data[n:]
	}
	return w.Close()
}

// accept returns the next connection the server upgraded.
func (s *scenarioServer) accept(t *testing.T) *serverConn {
	t.Helper()
	sc, ok := s.conns.pop(eventTimeout)
	require.True(t, ok, "the server upgraded no connection within %v", eventTimeout)
	// Whatever the test leaves open ends with it.
	t.Cleanup(func() { _ = sc.Terminate() })
	return sc
}

// serverConn is a connection the server upgraded, with what its reader got.
type serverConn struct {
	*websocket.Conn
	offer    string // the client's Sec-WebSocket-Extensions
	msgs     *queue[message]
	readDone chan struct{} // closed when ReadMessage failed
	readErr  error         // ReadMessage's final error, set before readDone
}

func (sc *serverConn) nextMessage(t *testing.T) message {
	t.Helper()
	m, ok := sc.tryNextMessage()
	if !ok {
		select {
		case <-sc.readDone:
			t.Fatalf("the server's reader ended before the message: %v", sc.readErr)
		default:
			t.Fatalf("the server read no message within %v", eventTimeout)
		}
	}
	return m
}

// tryNextMessage returns the next message the server read, or false when
// none came within eventTimeout or the reader ended before one.
func (sc *serverConn) tryNextMessage() (message, bool) {
	return sc.msgs.popUnless(eventTimeout, sc.readDone)
}

// waitReadErr waits up to d for the server's reader to fail, and returns
// its error.
func (sc *serverConn) waitReadErr(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-sc.readDone:
		return sc.readErr
	case <-time.After(d):
		t.Fatalf("the server's reader was still reading after %v", d)
		return nil
	}
}

// waitDone waits up to d for the connection to end.
func (sc *serverConn) waitDone(t *testing.T, d time.Duration) websocket.CloseEvent {
	t.Helper()
	select {
	case <-sc.Done():
		return sc.CloseEvent()
	case <-time.After(d):
		t.Fatalf("the connection had not ended after %v", d)
		return websocket.CloseEvent{}
	}
}

func waitGroup(t *testing.T, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Errorf("waited %v for %s", d, what)
	}
}

// command is what a test asks a client to do; see node/client.js.
type command struct {
	Op        string   `json:"op"`
	URL       string   `json:"url,omitempty"`
	Protocols []string `json:"protocols,omitempty"`
	Origin    string   `json:"origin,omitempty"`
	Type      string   `json:"type,omitempty"` // "text" or "binary"
	Data      string   `json:"data,omitempty"` // base64 for binary
	// Fragments sends one message as several frames: base64 for binary,
	// and for text too when Base64 is set (Node only: it may then split a
	// character between frames).
	Fragments []string `json:"fragments,omitempty"`
	Base64    bool     `json:"base64,omitempty"`
	Code      int      `json:"code,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	// Conn names a connection of a peer server (node/server.js,
	// python/server.py): they number theirs from 1; 0 is the latest.
	Conn int `json:"conn,omitempty"`
	// Deflate configures Node's permessage-deflate (open only); the
	// others offer their defaults whatever it says.
	Deflate *deflateOptions `json:"deflate,omitempty"`
}

// deflateOptions is Node's perMessageDeflate: with them, ws compresses
// every message, the shortest too (threshold 0), and offers the
// parameters set.
type deflateOptions struct {
	ClientNoContextTakeover bool `json:"clientNoContextTakeover,omitempty"`
	ServerNoContextTakeover bool `json:"serverNoContextTakeover,omitempty"`
}

// event is what a client reports.
type event struct {
	Event    string `json:"event"` // open, message, pong, stats, rejected, error, close
	Protocol string `json:"protocol"`
	// Extensions is the Sec-WebSocket-Extensions the server answered, as
	// the client reports it (the browser's ws.extensions); Negotiated is
	// what Node's ws (ws.extensions) or websockets (its extension
	// objects) made of it.
	Extensions string `json:"extensions"`
	Negotiated string `json:"negotiated"`
	// Read and Written count the bytes through the client's socket since
	// it was opened (stats).
	Read     int64  `json:"read"`
	Written  int64  `json:"written"`
	Type     string `json:"type"`
	Data     string `json:"data"`
	Code     int    `json:"code"`
	Reason   string `json:"reason"`
	WasClean *bool  `json:"wasClean"` // the browser's and the peer servers'
	Status   int    `json:"status"`
	Message  string `json:"message"`
	// Port is where a peer server listens (listening); Conn which of its
	// connections an event is about; Exception the exception websockets
	// raises for how the connection closed (its server's close).
	Port      int    `json:"port"`
	Conn      int    `json:"conn"`
	Exception string `json:"exception"`

	at time.Time // when the test got it
}

func (ev event) String() string {
	data := ev.Data
	if len(data) > 80 {
		data = fmt.Sprintf("%s… (%d bytes)", data[:80], len(data))
	}
	ev.Data = data
	b, _ := json.Marshal(ev)
	return string(b)
}

// Client names.
const (
	chromium = "chromium"
	nodeWS   = "node-ws"
	pythonWS = "python-websockets"
)

// client is a real WebSocket client, running one connection.
type client struct {
	name   string
	events *queue[event]
	do     func(command) error
	kill   func() // SIGKILL the client's process; nil for the browser
}

func (c *client) send(t *testing.T, cmd command) {
	t.Helper()
	require.NoError(t, c.do(cmd), "%s: command %s", c.name, cmd.Op)
}

func (c *client) open(t *testing.T, url string, protocols ...string) {
	t.Helper()
	c.send(t, command{Op: "open", URL: url, Protocols: protocols})
}

// next returns the client's next event.
func (c *client) next(t *testing.T) event {
	t.Helper()
	ev, ok := c.events.pop(eventTimeout)
	require.True(t, ok, "%s reported nothing within %v", c.name, eventTimeout)
	return ev
}

// expect returns the next event, which must be of kind want.
func (c *client) expect(t *testing.T, want string) event {
	t.Helper()
	ev := c.next(t)
	require.Equal(t, want, ev.Event, "%s: want a %s event, got %v", c.name, want, ev)
	return ev
}

// expectClose returns the close event. Error events before it (a browser
// fires one when it failed the connection; Node's ws reports why) are
// skipped and reported.
func (c *client) expectClose(t *testing.T) (ev event, sawError bool) {
	t.Helper()
	for {
		ev = c.next(t)
		if ev.Event == "error" {
			sawError = true
			continue
		}
		require.Equal(t, "close", ev.Event, "%s: want the close event, got %v", c.name, ev)
		return ev, sawError
	}
}

// clientKind is one of the real peers, and what it can express.
type clientKind struct {
	name string
	// start runs a client; pageURL is where the browser loads its harness
	// page (the page's origin), which the others ignore.
	start func(t *testing.T, pageURL string) *client
	// terminate drops the client's TCP connection without a close frame;
	// nil when the client cannot (a page has no such API).
	terminate func(t *testing.T, c *client)
	// ping: the client can send a ping and hear its pong.
	ping bool
	// fragments: the client can send a message in fragments of its
	// choosing; splitBytes: also text split inside a character.
	fragments, splitBytes bool
	// wireStats: the client counts the bytes through its socket.
	wireStats bool
}

var clientKinds = []clientKind{
	{name: chromium, start: startBrowser},
	{
		name:  nodeWS,
		start: func(t *testing.T, _ string) *client { return startProcess(t, nodeWS, "node", "node/client.js") },
		terminate: func(t *testing.T, c *client) {
			c.send(t, command{Op: "terminate"})
		},
		ping:       true,
		fragments:  true,
		splitBytes: true,
		wireStats:  true,
	},
	{
		name:  pythonWS,
		start: func(t *testing.T, _ string) *client { return startProcess(t, pythonWS, pythonPath, "python/client.py") },
		// websockets has no abortive close: the process dies instead, and
		// the kernel closes its socket.
		terminate: func(_ *testing.T, c *client) { c.kill() },
		ping:      true,
		fragments: true,
		wireStats: true,
	},
}

// forEachClient runs f as a subtest for each client that can express the
// scenario.
func forEachClient(t *testing.T, can func(clientKind) bool, f func(t *testing.T, ck clientKind)) {
	for _, ck := range clientKinds {
		if can != nil && !can(ck) {
			continue
		}
		t.Run(ck.name, func(t *testing.T) {
			requirePeer(t, ck.name)
			f(t, ck)
		})
	}
}

// startProcess runs a client script that takes commands as JSON lines on
// stdin and reports events as JSON lines on stdout.
func startProcess(t *testing.T, name, program string, args ...string) *client {
	t.Helper()
	cmd := exec.Command(program, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start(), "starting %s", name)

	c := &client{name: name, events: newQueue[event]()}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var ev event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ev = event{Event: "error", Message: fmt.Sprintf("bad line %q: %v", sc.Text(), err)}
			}
			ev.at = time.Now()
			c.events.push(ev)
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()

	var stdinMu sync.Mutex
	c.do = func(cmd command) error {
		b, err := json.Marshal(cmd)
		if err != nil {
			return err
		}
		stdinMu.Lock()
		defer stdinMu.Unlock()
		_, err = stdin.Write(append(b, '\n'))
		return err
	}
	c.kill = func() { _ = cmd.Process.Kill() }

	t.Cleanup(func() {
		// End of stdin makes the client drop its socket and exit.
		_ = stdin.Close()
		select {
		case <-readDone:
		case <-time.After(eventTimeout):
			t.Errorf("%s did not exit within %v of the end of its stdin; killing it", name, eventTimeout)
			_ = cmd.Process.Kill()
			<-readDone
		}
		err := cmd.Wait()
		if s := stderr.String(); s != "" {
			t.Logf("%s stderr:\n%s", name, s)
		}
		if err != nil && !killed(cmd) {
			t.Errorf("%s exited: %v", name, err)
		}
	})
	return c
}

// killed reports whether the process died of a signal (the tests' kill).
func killed(cmd *exec.Cmd) bool {
	return cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == -1
}

// The shared browser: one Chromium for the whole run, a tab per test.
var (
	browserMu     sync.Mutex
	browserCtx    context.Context
	browserErr    error
	browserCancel func()
)

// sharedBrowser starts Chromium on first use.
func sharedBrowser(t *testing.T) context.Context {
	t.Helper()
	browserMu.Lock()
	defer browserMu.Unlock()
	if browserCtx == nil && browserErr == nil {
		browserCtx, browserCancel, browserErr = launchBrowser()
	}
	require.NoError(t, browserErr, "starting %s", chromiumPath)
	return browserCtx
}

func launchBrowser() (context.Context, func(), error) {
	// The browser outlives the test that starts it, so its profile is not
	// a t.TempDir; stopBrowser removes it.
	dir, err := os.MkdirTemp("", "interop-chromium-")
	if err != nil {
		return nil, nil, err
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Chromium reaches for Google's hosts unless told not to; this
		// machine has no network beyond loopback.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The HTTP/2 tests serve https://127.0.0.1 with httptest's
		// self-signed certificate; pages over http are unaffected.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(dir),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	stop := func() {
		stopCtx, stopCancel := context.WithTimeout(context.Background(), eventTimeout)
		_ = chromedp.Cancel(withDeadline{ctx, stopCtx})
		stopCancel()
		cancel()
		allocCancel()
		_ = os.RemoveAll(dir)
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		stop()
		return nil, nil, err
	}
	return ctx, stop, nil
}

// withDeadline is a context with the values of one and the deadline of
// another: chromedp.Cancel needs the chromedp context and honors a deadline.
type withDeadline struct {
	context.Context
	deadline context.Context
}

func (w withDeadline) Deadline() (time.Time, bool) { return w.deadline.Deadline() }
func (w withDeadline) Done() <-chan struct{}       { return w.deadline.Done() }
func (w withDeadline) Err() error                  { return w.deadline.Err() }

func stopBrowser() {
	browserMu.Lock()
	defer browserMu.Unlock()
	if browserCancel != nil {
		browserCancel()
		browserCancel = nil
	}
}

// newTab opens a tab of the shared browser, closed when the test ends.
func newTab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(sharedBrowser(t))
	t.Cleanup(cancel)
	return ctx
}

// startBrowser opens the harness page at pageURL in a new tab. The page
// reports events through a binding, in the order it fires them.
func startBrowser(t *testing.T, pageURL string) *client {
	t.Helper()
	tab := newTab(t)
	c := &client{name: chromium, events: newQueue[event]()}
	require.NoError(t, chromedp.Listen(tab, func(ev any) {
		bc, ok := ev.(*runtime.EventBindingCalled)
		if !ok || bc.Name != "emitEvent" {
			return
		}
		var e event
		if err := json.Unmarshal([]byte(bc.Payload), &e); err != nil {
			e = event{Event: "error", Message: fmt.Sprintf("bad payload %q: %v", bc.Payload, err)}
		}
		e.at = time.Now()
		c.events.push(e)
	}))
	require.NoError(t, chromedp.Do(tab,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, runtime.AddBinding, runtime.AddBindingParams{Name: "emitEvent"})
			return err
		}),
		chromedp.Navigate(pageURL),
	), "opening %s", pageURL)
	c.do = func(cmd command) error {
		b, err := json.Marshal(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(tab, eventTimeout)
		defer cancel()
		_, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("cmd("+string(b)+")"))
		return err
	}
	return c
}
