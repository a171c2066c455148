package interop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Scenario 10: Conn.Serve. The server hands each connection to Serve
// instead of running a read loop: onMessage echoes every message, and on
// Linux the connection waits in the package's epoll poller, with no
// goroutine, whenever the client has sent nothing more. Each round trip
// below waits for its echo before the next message goes, so the
// connection is idle between messages, and every message, ping and close
// frame wakes it from the poller.

// servedServer is scenarioServer's counterpart for Serve: / serves the
// browser harness page, /ws upgrades with the scenario's Upgrader and
// hands the connection to Serve, then returns from the handler.
type servedServer struct {
	*httptest.Server
	upgrader websocket.Upgrader
	conns    *queue[*servedConn] // served connections, in order
	handlers sync.WaitGroup
	// readWhole: onMessage reads every message whole before it echoes
	// it with WriteMessage, whatever its size. Set before a client
	// connects.
	readWhole bool

	mu  sync.Mutex
	all []*servedConn // every connection served, for the cleanup
}

// servedConn is a connection given to Serve. Its serverConn's msgs gets
// what onMessage read, and readDone is closed when onEnd is called (readErr
// then describes the CloseEvent), so that roundTrip and waitDone work on
// it as on a connection with a read loop.
type servedConn struct {
	*serverConn
	serveErr  error // what Serve returned
	readWhole bool  // see servedServer

	active  atomic.Int32  // onMessage calls running
	overlap atomic.Bool   // two onMessage calls ran at once, or onEnd with one
	ends    atomic.Int32  // onEnd calls
	errs    *queue[error] // what onMessage's reader failed with
	cut     atomic.Bool   // the peer's close frame ended a message midway
	end     websocket.CloseEvent
}

func newServedServer(t *testing.T, u websocket.Upgrader) *servedServer {
	t.Helper()
	s := &servedServer{upgrader: u, conns: newQueue[*servedConn]()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serveHarness)
	mux.HandleFunc("/ws", s.serveWS)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.Close()
		waitGroup(t, &s.handlers, eventTimeout, "the server's handlers to return")
		// Served connections hold no handler: end any left, and wait
		// for their onEnd.
		s.mu.Lock()
		all := s.all
		s.mu.Unlock()
		for _, sc := range all {
			_ = sc.Terminate()
			select {
			case <-sc.readDone:
				assert.Equal(t, int32(1), sc.ends.Load(), "onEnd is called once")
			case <-time.After(eventTimeout):
				t.Errorf("onEnd was not called within %v of Terminate", eventTimeout)
			}
			assert.False(t, sc.overlap.Load(), "onMessage calls overlapped, or onEnd overlapped one")
			for {
				err, ok := sc.errs.pop(0)
				if !ok {
					break
				}
				t.Errorf("onMessage: %v", err)
			}
		}
	})
	return s
}

func (s *servedServer) wsURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws" }

func (s *servedServer) serveWS(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the client reports it
	}
	sc := &servedConn{serverConn: &serverConn{
		Conn:     conn,
		offer:    strings.Join(r.Header.Values("Sec-WebSocket-Extensions"), ", "),
		msgs:     newQueue[message](),
		readDone: make(chan struct{}),
	}, errs: newQueue[error](), readWhole: s.readWhole}
	s.mu.Lock()
	s.all = append(s.all, sc)
	s.mu.Unlock()
	sc.serveErr = conn.Serve(sc.onMessage, sc.onEnd)
	s.conns.push(sc)
	// The handler returns: from here on the connection is Serve's.
}

// onMessage echoes a message. Up to streamAbove bytes (or always, with
// readWhole) it reads the whole message and echoes it with WriteMessage;
// a longer one goes back as it is read, through NextWriter and io.Copy,
// in fragments. What it read goes to msgs, how its reads failed to errs.
func (sc *servedConn) onMessage(typ websocket.MessageType, r io.Reader) {
	if sc.active.Add(1) != 1 {
		sc.overlap.Store(true)
	}
	defer sc.active.Add(-1)

	var got bytes.Buffer
	if sc.readWhole {
		data, err := io.ReadAll(r)
		if err != nil {
			sc.readFailed(len(data), err)
		}
		sc.msgs.push(message{typ, data})
		_ = sc.WriteMessage(typ, data)
		return
	}
	head, err := io.ReadAll(io.TeeReader(io.LimitReader(r, streamAbove+1), &got))
	if err != nil {
		sc.readFailed(got.Len(), err)
		sc.msgs.push(message{typ, got.Bytes()})
		return
	}
	if len(head) <= streamAbove {
		sc.msgs.push(message{typ, head})
		// A write fails once a close has begun; onEnd says how the
		// connection ended.
		_ = sc.WriteMessage(typ, head)
		return
	}
	defer func() { sc.msgs.push(message{typ, got.Bytes()}) }()
	// The rest of the message is read whatever happens to the echo: a
	// write fails once Close has begun.
	readRest := func() {
		if _, err := io.Copy(&got, r); err != nil {
			sc.readFailed(got.Len(), err)
		}
	}
	w, err := sc.NextWriter(typ)
	if err != nil {
		readRest()
		return
	}
	if _, err := w.Write(head); err != nil {
		readRest()
		_ = w.Close()
		return
	}
	// tee tells a read error from a write error.
	tee := &errReader{r: io.TeeReader(r, &got)}
	if _, err := io.Copy(w, tee); err != nil {
		if tee.err != nil {
			sc.readFailed(got.Len(), tee.err)
		} else {
			readRest()
		}
	}
	_ = w.Close()
}

// readFailed records how onMessage's reader failed after n bytes. The
// peer's close frame in the middle of a message is no failure: control
// frames may come between the fragments of a message (RFC 6455 section
// 5.4), and Chromium, answering our close, sends its close frame between
// the fragments of a message it was still sending, which then never ends.
func (sc *servedConn) readFailed(n int, err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		sc.cut.Store(true)
		return
	}
	sc.errs.push(fmt.Errorf("reading a message, after %d bytes: %w", n, err))
}

// errReader remembers its reader's error other than io.EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// onEnd records the connection's CloseEvent, the first time.
func (sc *servedConn) onEnd(ev websocket.CloseEvent) {
	if sc.active.Load() != 0 {
		sc.overlap.Store(true)
	}
	if sc.ends.Add(1) != 1 {
		return
	}
	sc.end = ev
	sc.readErr = fmt.Errorf("onEnd was called with %+v", ev)
	close(sc.readDone)
}

// waitEnd waits up to d for onEnd, and returns its CloseEvent, which must
// be the connection's.
func (sc *servedConn) waitEnd(t *testing.T, d time.Duration) websocket.CloseEvent {
	t.Helper()
	select {
	case <-sc.readDone:
	case <-time.After(d):
		t.Fatalf("onEnd was not called within %v", d)
	}
	select {
	case <-sc.Done():
	default:
		t.Fatal("onEnd was called before Done was closed")
	}
	assert.Equal(t, sc.CloseEvent(), sc.end, "onEnd's CloseEvent is the connection's")
	return sc.end
}

// connectServed starts a client of kind ck against a new served server, and
// returns both ends of the open connection.
func connectServed(t *testing.T, ck clientKind, u websocket.Upgrader) (*client, *servedConn) {
	t.Helper()
	return connectServedTo(t, ck, newServedServer(t, u))
}

// connectServedTo is connectServed to a given server.
func connectServedTo(t *testing.T, ck clientKind, s *servedServer) (*client, *servedConn) {
	t.Helper()
	c := ck.start(t, s.URL)
	c.open(t, s.wsURL())
	c.expect(t, "open")
	sc, ok := s.conns.pop(eventTimeout)
	require.True(t, ok, "the server served no connection within %v", eventTimeout)
	require.NoError(t, sc.serveErr, "Serve")
	return c, sc
}

// servedMessages are the messages of the echo scenario: each is echoed
// from onMessage, the small ones through WriteMessage, those over
// streamAbove through NextWriter while they are read.
func servedMessages() []struct {
	name string
	typ  websocket.MessageType
	data []byte
} {
	return []struct {
		name string
		typ  websocket.MessageType
		data []byte
	}{
		{"multi-byte text", websocket.TextMessage, []byte("héllo wörld ✓ 日本語 😀")},
		{"binary", websocket.BinaryMessage, allBytes()},
		{"empty text", websocket.TextMessage, []byte{}},
		{"100 KiB text", websocket.TextMessage, jsonText(100 << 10)},
		{"100 KiB binary", websocket.BinaryMessage, mibBinary()[:100<<10]},
		{"ascii text after the large ones", websocket.TextMessage, []byte("still served")},
	}
}

// Scenario 10a: messages sent one at a time, the connection idle between
// them, reach onMessage with their type and exact bytes, and the echoes
// that onMessage writes reach the client intact.
func TestServeEcho(t *testing.T) {
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc := connectServed(t, ck, scenarioUpgrader())
		for _, m := range servedMessages() {
			roundTrip(t, c, sc.serverConn, m.name, m.typ, m.data)
		}
		c.send(t, command{Op: "close", Code: 1000})
		ev, _ := c.expectClose(t)
		assert.Equal(t, 1000, ev.Code)
		assert.Equal(t, websocket.StatusNormalClosure, sc.waitEnd(t, promptly).Code)
	})
}

// Scenario 10b: after an echo, with the connection idle, the server calls
// Close(4000, "served bye") from outside onMessage. The client's answer
// wakes the connection from the poller; Close returns nil once it is read,
// the client sees the close with that code and reason, and onEnd gets a
// clean CloseEvent that the server initiated.
func TestServeServerClose(t *testing.T) {
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc := connectServed(t, ck, scenarioUpgrader())
		roundTrip(t, c, sc.serverConn, "first message", websocket.TextMessage, []byte("before the close ✓"))

		start := time.Now()
		err := sc.Close(4000, "served bye")
		took := time.Since(start)
		t.Logf("%s: Close(4000, \"served bye\") returned %v after %v (CloseTimeout %v)", ck.name, err, took, closeTimeout)
		require.NoError(t, err)
		assert.Less(t, took, promptly, "Close returns once the client answered, far inside its timeout")

		ev, sawError := c.expectClose(t)
		t.Logf("%s: close event %v", ck.name, ev)
		assert.Equal(t, 4000, ev.Code)
		assert.Equal(t, "served bye", ev.Reason)
		if ck.name == chromium {
			require.NotNil(t, ev.WasClean)
			assert.True(t, *ev.WasClean, "wasClean")
			assert.False(t, sawError, "no error event on a clean close")
		}

		// Each client echoes the code and reason of the server's close
		// frame, which the CloseEvent reports.
		assert.Equal(t, websocket.CloseEvent{
			Code:      4000,
			Reason:    "served bye",
			WasClean:  true,
			Initiator: websocket.SideLocal,
		}, sc.waitEnd(t, promptly))
		_, more := sc.msgs.pop(0)
		assert.False(t, more, "onMessage got nothing after the first message")
	})
}

// Scenario 10c: the client sends a message and closes with 1000 and a
// reason, the connection idle before. onMessage gets the message, the
// client's close frame is echoed at once (the client's close completes
// promptly, and cleanly), and onEnd gets the client's code and reason,
// clean, initiated by the peer.
func TestServeClientClose(t *testing.T) {
	const reason = "client bye ✓"
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc := connectServed(t, ck, scenarioUpgrader())
		roundTrip(t, c, sc.serverConn, "first message", websocket.BinaryMessage, allBytes())

		const last = "last before the close"
		clientSendsClose(t, ck, c, last, 1000, reason)

		assert.Equal(t, message{websocket.TextMessage, []byte(last)}, sc.nextMessage(t))
		assert.Equal(t, websocket.CloseEvent{
			Code:      websocket.StatusNormalClosure,
			Reason:    reason,
			WasClean:  true,
			Initiator: websocket.SidePeer,
		}, sc.waitEnd(t, promptly))
	})
}

// Scenario 10d: a ping that comes while the connection is idle wakes it:
// the pong carries the payload, and the connection goes on serving
// messages afterwards.
func TestServeClientPing(t *testing.T) {
	canPing := func(ck clientKind) bool { return ck.ping }
	forEachClient(t, canPing, func(t *testing.T, ck clientKind) {
		c, sc := connectServed(t, ck, scenarioUpgrader())
		roundTrip(t, c, sc.serverConn, "before the pings", websocket.TextMessage, []byte("ping me"))
		for _, payload := range []string{"are you there? ✓", ""} {
			c.send(t, command{Op: "ping", Data: payload})
			ev := c.expect(t, "pong")
			assert.Equal(t, payload, ev.Data)
		}
		roundTrip(t, c, sc.serverConn, "after the pings", websocket.BinaryMessage, allBytes())
		_, more := sc.msgs.pop(0)
		assert.False(t, more, "a ping is no message")
	})
}

// Scenario 10e: messages sent back to back, without waiting for their
// echoes, reach onMessage one at a time and in order, however they are
// split into wake-ups, and their echoes come back in the same order.
func TestServePipelined(t *testing.T) {
	const count = 8
	payload := func(i int) []byte {
		if i%2 == 0 {
			return bytes.Repeat([]byte{byte('a' + i)}, 100<<10) // streamed back
		}
		return []byte(fmt.Sprintf("short message %d ✓", i))
	}
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc := connectServed(t, ck, scenarioUpgrader())
		for i := range count {
			c.send(t, command{Op: "send", Type: "text", Data: string(payload(i))})
		}
		for i := range count {
			m := sc.nextMessage(t)
			assert.Equal(t, websocket.TextMessage, m.typ)
			requireSameBytes(t, payload(i), m.data, fmt.Sprintf("message %d", i))
		}
		for i := range count {
			ev := c.expect(t, "message")
			requireSameBytes(t, payload(i), []byte(ev.Data), fmt.Sprintf("echo %d", i))
		}
		c.send(t, command{Op: "close", Code: 1000})
		ev, _ := c.expectClose(t)
		assert.Equal(t, 1000, ev.Code)
		assert.Equal(t, websocket.StatusNormalClosure, sc.waitEnd(t, promptly).Code)
	})
}

// Scenario 10f: with permessage-deflate in context takeover mode, both
// sides keep their compression context across the idle periods between
// messages: every message and echo arrives intact, and a close by the
// server still ends cleanly.
func TestServeCompressedEcho(t *testing.T) {
	u := compressionUpgrader(websocket.CompressionContextTakeover)
	record := jsonText(2 << 10) // over CompressionThreshold: compressed both ways
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		offer := compressionOffers(ck)[0]
		s := newServedServer(t, u)
		c := ck.start(t, s.URL)
		c.send(t, command{Op: "open", URL: s.wsURL(), Deflate: offer.deflate})
		open := c.expect(t, "open")
		assert.Equal(t, offer.answer[u.Compression], open.Extensions, "the Sec-WebSocket-Extensions the client got")
		sc, ok := s.conns.pop(eventTimeout)
		require.True(t, ok, "the server served no connection within %v", eventTimeout)
		require.NoError(t, sc.serveErr, "Serve")

		for i := range 3 {
			roundTrip(t, c, sc.serverConn, fmt.Sprintf("record %d", i), websocket.TextMessage, record)
		}
		for _, m := range servedMessages() {
			roundTrip(t, c, sc.serverConn, m.name, m.typ, m.data)
		}
		require.NoError(t, sc.Close(4000, "served bye"))
		ev, _ := c.expectClose(t)
		assert.Equal(t, 4000, ev.Code)
		assert.Equal(t, "served bye", ev.Reason)
		cev := sc.waitEnd(t, promptly)
		assert.True(t, cev.WasClean, "%+v", cev)
		assert.Equal(t, websocket.SideLocal, cev.Initiator)
	})
}

// Scenario 10g: the server terminates an idle served connection: the
// client sees 1006 at once, and onEnd gets 1006, not clean, ErrTerminated.
func TestServeServerTerminate(t *testing.T) {
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc := connectServed(t, ck, scenarioUpgrader())
		roundTrip(t, c, sc.serverConn, "first message", websocket.TextMessage, []byte("then terminate"))
		require.NoError(t, sc.Terminate())
		ev, _ := c.expectClose(t)
		assert.Equal(t, 1006, ev.Code)
		cev := sc.waitEnd(t, promptly)
		assert.Equal(t, websocket.StatusAbnormalClosure, cev.Code)
		assert.False(t, cev.WasClean)
		assert.Equal(t, websocket.SideLocal, cev.Initiator)
		assert.ErrorIs(t, cev.Err, websocket.ErrTerminated)
	})
}

// Scenario 10h: the client drops TCP (Node's ws.terminate(); the Python
// process is killed) while the connection is idle: the poller sees the
// end, and onEnd gets 1006, not clean, initiated by the peer, at once.
func TestServeClientTerminate(t *testing.T) {
	canTerminate := func(ck clientKind) bool { return ck.terminate != nil }
	forEachClient(t, canTerminate, func(t *testing.T, ck clientKind) {
		c, sc := connectServed(t, ck, scenarioUpgrader())
		roundTrip(t, c, sc.serverConn, "first message", websocket.TextMessage, []byte("then drop"))
		start := time.Now()
		ck.terminate(t, c)
		cev := sc.waitEnd(t, promptly)
		t.Logf("%s: onEnd got %+v after %v", ck.name, cev, time.Since(start))
		assert.Equal(t, websocket.StatusAbnormalClosure, cev.Code)
		assert.False(t, cev.WasClean)
		assert.Equal(t, websocket.SidePeer, cev.Initiator)
		assert.Error(t, cev.Err)
	})
}

// Scenario 10i: the server closes while messages fly both ways, as in
// scenario 3b: the client sends five 200 KiB messages, and after the first
// has reached onMessage the server calls Close from outside it. Close
// returns nil; onMessage gets the client's messages intact and in order,
// then onEnd the clean close; the client sees only whole echoes, in order,
// then 4000 "served bye".
//
// It runs twice: onMessage reading each message whole before it echoes
// it, as the read loop of scenario 3b does, and streaming the echo as it
// reads (reads and writes of one message interleaved), where Close may
// begin while onMessage is between two reads of a message.
func TestServeServerCloseDuringTraffic(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		name := map[bool]string{false: "whole", true: "streamed"}[streamed]
		t.Run(name, func(t *testing.T) { serverCloseDuringTraffic(t, !streamed) })
	}
}

func serverCloseDuringTraffic(t *testing.T, readWhole bool) {
	const count, size = 5, 200 << 10
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, size) }
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		s := newServedServer(t, scenarioUpgrader())
		s.readWhole = readWhole
		c, sc := connectServedTo(t, ck, s)
		for i := range count {
			typ, data := wireData(websocket.BinaryMessage, payload(i))
			c.send(t, command{Op: "send", Type: typ, Data: data})
		}
		requireSameBytes(t, payload(0), sc.nextMessage(t).data, "message 0")

		start := time.Now()
		err := sc.Close(4000, "served bye")
		took := time.Since(start)
		t.Logf("%s: Close returned %v after %v", ck.name, err, took)
		require.NoError(t, err)
		assert.Less(t, took, promptly)

		cev := sc.waitEnd(t, promptly)
		assert.Equal(t, websocket.CloseEvent{
			Code:      4000,
			Reason:    "served bye",
			WasClean:  true,
			Initiator: websocket.SideLocal,
		}, cev)
		got := 1
		for {
			m, ok := sc.msgs.pop(0)
			if !ok {
				break
			}
			if len(m.data) < size && sc.cut.Load() {
				// The last one, cut short by the peer's close frame.
				require.True(t, bytes.HasPrefix(payload(got), m.data), "message %d, cut short", got)
				t.Logf("%s: the client's close frame came after %d bytes of message %d", ck.name, len(m.data), got)
				break
			}
			requireSameBytes(t, payload(got), m.data, fmt.Sprintf("message %d", got))
			got++
		}
		t.Logf("%s: onMessage got %d of %d messages before the close", ck.name, got, count)

		echoes := wantEchoesThenClose(t, c, ck, payload, 4000, "served bye")
		t.Logf("%s: the client got %d whole echoes before the close", ck.name, echoes)
	})
}
