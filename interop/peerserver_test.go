package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/require"
)

// The other direction: our client (Dial) against the real peers' servers,
// node/server.js on Node's ws and python/server.py on websockets. Each is
// an echo server on an ephemeral port of 127.0.0.1 that reports events and
// takes commands as JSON lines, through the same process harness as the
// clients (startProcess).

// serverKind is one of the real peers' servers.
type serverKind struct {
	name    string // the subtest's name
	peer    string // the peer it needs installed (requirePeer)
	program string
	script  string
}

var serverKinds = []serverKind{
	{name: "node-ws-server", peer: nodeWS, program: "node", script: "node/server.js"},
	{name: "python-websockets-server", peer: pythonWS, program: pythonPath, script: "python/server.py"},
}

// forEachServer runs f as a subtest for each peer server.
func forEachServer(t *testing.T, f func(t *testing.T, sk serverKind)) {
	for _, sk := range serverKinds {
		t.Run(sk.name, func(t *testing.T) {
			requirePeer(t, sk.peer)
			f(t, sk)
		})
	}
}

// peerServer is a running peer server: its events and commands, and the
// URL it listens on.
type peerServer struct {
	*client
	url string
}

// startServer runs the peer server of kind sk and waits until it listens.
func startServer(t *testing.T, sk serverKind) *peerServer {
	t.Helper()
	c := startProcess(t, sk.name, sk.program, sk.script)
	ev := c.expect(t, "listening")
	require.NotZero(t, ev.Port, "%s: the port it listens on", sk.name)
	return &peerServer{client: c, url: fmt.Sprintf("ws://127.0.0.1:%d/", ev.Port)}
}

// dialerFor is the Dialer of the client scenarios: the defaults, with the
// close timeout spelled out so that the tests can bound waits below it,
// and a read limit that takes the largest echo.
func dialerFor() websocket.Dialer {
	return websocket.Dialer{CloseTimeout: closeTimeout, ReadLimit: 2 << 20}
}

// dialed is a connection our client opened, with a reader that reads every
// message into msgs until the connection ends, as an application would.
type dialed struct {
	*websocket.Conn
	resp     *http.Response
	open     event       // the peer server's open event
	tcp      *watchedTCP // nil unless dialed watched
	msgs     *queue[message]
	readDone chan struct{} // closed when ReadMessage failed
	readErr  error         // ReadMessage's final error, set before readDone
}

// dial connects with d to the peer server ps and starts the reader. With
// watched, the TCP connection is a watchedTCP (dc.tcp). The connection is
// terminated when the test ends, if it is still open.
func dial(t *testing.T, ps *peerServer, d websocket.Dialer, watched bool) *dialed {
	t.Helper()
	dc := &dialed{msgs: newQueue[message](), readDone: make(chan struct{})}
	if watched {
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			dc.tcp = &watchedTCP{Conn: conn}
			return dc.tcp, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	conn, resp, err := d.DialContext(ctx, ps.url, nil)
	require.NoError(t, err, "dialing %s", ps.url)
	dc.Conn, dc.resp = conn, resp
	t.Cleanup(func() {
		_ = conn.Terminate()
		select {
		case <-dc.readDone:
		case <-time.After(eventTimeout):
			t.Errorf("our reader was still reading %v after Terminate", eventTimeout)
		}
	})
	go dc.read()
	dc.open = ps.expect(t, "open")
	return dc
}

func (dc *dialed) read() {
	for {
		typ, data, err := dc.ReadMessage()
		if err != nil {
			dc.readErr = err
			close(dc.readDone)
			return
		}
		dc.msgs.push(message{typ, data})
	}
}

// nextMessage returns the next message our reader got.
func (dc *dialed) nextMessage(t *testing.T) message {
	t.Helper()
	m, ok := dc.msgs.popUnless(eventTimeout, dc.readDone)
	if !ok {
		select {
		case <-dc.readDone:
			t.Fatalf("our reader ended before the message: %v", dc.readErr)
		default:
			t.Fatalf("our reader got no message within %v", eventTimeout)
		}
	}
	return m
}

// waitReadErr waits up to d for our reader to fail, and returns its error.
func (dc *dialed) waitReadErr(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-dc.readDone:
		return dc.readErr
	case <-time.After(d):
		t.Fatalf("our reader was still reading after %v", d)
		return nil
	}
}

// waitDone waits up to d for the connection to end.
func (dc *dialed) waitDone(t *testing.T, d time.Duration) websocket.CloseEvent {
	t.Helper()
	select {
	case <-dc.Done():
		return dc.CloseEvent()
	case <-time.After(d):
		t.Fatalf("our connection had not ended after %v", d)
		return websocket.CloseEvent{}
	}
}

// watchedTCP is the client's TCP connection, watched: it counts the bytes
// through it and notes whether the server's FIN (EOF) reached our reads
// before we closed the socket. The library reads a bare *net.TCPConn
// through the runtime poller without its buffer; a wrapper takes its
// buffered path instead, the one any wrapped net.Conn takes.
type watchedTCP struct {
	net.Conn
	read, written atomic.Int64
	closed        atomic.Bool
	mu            sync.Mutex
	finFirst      bool // EOF was read while the socket was still ours to close
}

func (w *watchedTCP) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.read.Add(int64(n))
	if errors.Is(err, io.EOF) && !w.closed.Load() {
		w.mu.Lock()
		w.finFirst = true
		w.mu.Unlock()
	}
	return n, err
}

func (w *watchedTCP) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	w.written.Add(int64(n))
	return n, err
}

func (w *watchedTCP) Close() error {
	w.closed.Store(true)
	return w.Conn.Close()
}

// CloseWrite passes the half-close on, which the library uses after a
// violation.
func (w *watchedTCP) CloseWrite() error {
	if cw, ok := w.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("not a TCP connection")
}

// serverClosedFirst reports whether the server's FIN came before our close.
func (w *watchedTCP) serverClosedFirst() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.finFirst
}
