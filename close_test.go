package websocket

import (
	"bufio"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTransition is the state machine's table: every state and event.
func TestTransition(t *testing.T) {
	tests := []struct {
		from closeState
		ev   closeEvent
		to   closeState
		act  closeAction
	}{
		{stateOpen, evClose, stateCloseSent, actSendClose},
		{stateOpen, evFail, stateCloseSent, actSendClose},
		{stateOpen, evPeerClose, stateCloseReceived, actEcho},
		{stateOpen, evEchoSent, stateOpen, actNone},
		{stateOpen, evTimeout, stateOpen, actNone},
		{stateOpen, evAbort, stateClosed, actDropTCP},

		{stateCloseSent, evClose, stateCloseSent, actRefuse},
		{stateCloseSent, evFail, stateCloseSent, actLinger},
		{stateCloseSent, evPeerClose, stateClosed, actCloseTCP},
		{stateCloseSent, evEchoSent, stateCloseSent, actNone},
		{stateCloseSent, evTimeout, stateClosed, actDropTCP},
		{stateCloseSent, evAbort, stateClosed, actDropTCP},

		{stateCloseReceived, evClose, stateCloseReceived, actJoin},
		{stateCloseReceived, evFail, stateCloseReceived, actNone},
		{stateCloseReceived, evPeerClose, stateCloseReceived, actNone},
		{stateCloseReceived, evEchoSent, stateClosed, actCloseTCP},
		{stateCloseReceived, evTimeout, stateClosed, actDropTCP},
		{stateCloseReceived, evAbort, stateClosed, actDropTCP},

		{stateClosed, evClose, stateClosed, actRefuse},
		{stateClosed, evFail, stateClosed, actNone},
		{stateClosed, evPeerClose, stateClosed, actNone},
		{stateClosed, evEchoSent, stateClosed, actNone},
		{stateClosed, evTimeout, stateClosed, actCutPending},
		{stateClosed, evAbort, stateClosed, actCutPending},
	}
	for _, tt := range tests {
		t.Run(tt.from.String()+"/"+tt.ev.String(), func(t *testing.T) {
			to, act := transition(tt.from, tt.ev)
			assert.Equal(t, tt.to.String(), to.String())
			assert.Equal(t, tt.act.String(), act.String())
		})
	}
}

// pipeConn connects a Conn to a peer through net.Pipe, for tests that run
// in a synctest bubble: timeouts pass on the bubble's clock. The Conn
// joins u.Group as Upgrade would make it.
func pipeConn(t *testing.T, u *Upgrader) (*peer, *Conn) {
	if u == nil {
		u = &Upgrader{}
	}
	server, client := net.Pipe()
	c := newConn(&netStream{Conn: server}, u.config(""))
	if u.Group != nil {
		require.True(t, u.Group.add(c))
	}
	t.Cleanup(func() {
		_ = c.Terminate()
		client.Close()
	})
	// The peer's own bound is far past any timeout a test waits for.
	return &peer{t: t, conn: client, br: bufio.NewReader(client), key: [4]byte{9, 8, 7, 6}, timeout: time.Hour}, c
}

// TestServerClose is the handshake the server starts: close frame, the
// peer's answer, then TCP closed by the server.
func TestServerClose(t *testing.T) {
	p, c := connect(t, nil)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(4001, "bye") }()
	require.Equal(t, "bye", p.wantClose(4001))
	assert.ErrorIs(t, c.WriteMessage(TextMessage, []byte("late")), net.ErrClosed)
	_, err := c.NextWriter(BinaryMessage)
	assert.ErrorIs(t, err, net.ErrClosed)
	p.sendClose(4001, "")
	p.wantEOF()
	require.NoError(t, <-closed)
	ev := wantDone(t, c)
	assert.Equal(t, CloseEvent{Code: 4001, WasClean: true, Initiator: SideLocal}, ev)
	assert.ErrorIs(t, c.Close(StatusNormalClosure, ""), net.ErrClosed, "a later Close")
	assert.ErrorIs(t, c.Terminate(), net.ErrClosed, "a later Terminate")
}

// TestViolationAfterOurClose: a protocol violation that arrives while we
// wait for the peer's close frame fails the connection with the same
// linger as one before it: half-close, read to the peer's end, so that the
// data still coming cannot turn our close into a reset.
func TestViolationAfterOurClose(t *testing.T) {
	p, c := connect(t, nil)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(StatusNormalClosure, "") }()
	p.wantClose(StatusNormalClosure)
	// An unmasked frame, then more than the server will have read when it
	// sees the violation: closing at once would reset the connection.
	p.sendRaw(append([]byte{fin | wText, 2, 'h', 'i'}, make([]byte, 256<<10)...))
	p.wantEOF()
	require.NoError(t, p.conn.Close())
	err := <-closed
	require.ErrorIs(t, err, ErrProtocol)
	ev := wantDone(t, c)
	assert.Equal(t, StatusAbnormalClosure, ev.Code)
	assert.False(t, ev.WasClean)
	assert.Equal(t, SideLocal, ev.Initiator)
	assert.ErrorIs(t, ev.Err, ErrProtocol)
}

// TestPeerClose answers the peer's close frame with its code and reason,
// an empty body for an empty body, and closes TCP.
func TestPeerClose(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		echo   string
		code   StatusCode
		reason string
	}{
		{"empty", nil, "", StatusNoStatusRcvd, ""},
		{"code", closeBody(StatusGoingAway, ""), string(closeBody(StatusGoingAway, "")), StatusGoingAway, ""},
		{"code and reason", closeBody(4000, "see you"), string(closeBody(4000, "see you")), 4000, "see you"},
		{"longest reason", closeBody(3000, string(make([]byte, 123))), string(closeBody(3000, string(make([]byte, 123)))), 3000, string(make([]byte, 123))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c := connect(t, nil)
			msgs := readAll(c)
			p.send(fin|wClose, tt.body)
			p.wantFrame(fin|wClose, tt.echo)
			p.wantEOF()
			m := <-msgs
			var ce *CloseError
			require.ErrorAs(t, m.err, &ce)
			assert.Equal(t, &CloseError{Code: tt.code, Reason: tt.reason}, ce)
			ev := wantDone(t, c)
			assert.Equal(t, CloseEvent{Code: tt.code, Reason: tt.reason, WasClean: true, Initiator: SidePeer}, ev)
			_, _, err := c.ReadMessage()
			assert.Equal(t, m.err, err, "the error is sticky")
			assert.ErrorIs(t, c.Close(StatusNormalClosure, ""), net.ErrClosed)
		})
	}
}

// TestCloseWhileReading: a goroutine reading when Close is called receives
// the messages the peer sent before its close frame, then the CloseError.
func TestCloseWhileReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		msgs := readAll(c)
		synctest.Wait() // the reader is inside ReadMessage
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusGoingAway, "restart") }()
		require.Equal(t, "restart", p.wantClose(StatusGoingAway))
		p.send(fin|wText, []byte("one"))
		p.send(wBinary, []byte("tw"))
		p.send(fin|wCont, []byte("o"))
		p.sendClose(StatusNormalClosure, "ok")
		p.wantEOF()
		require.NoError(t, <-closed)
		assert.Equal(t, message{TextMessage, "one", nil}, <-msgs)
		assert.Equal(t, message{BinaryMessage, "two", nil}, <-msgs)
		m := <-msgs
		assert.Equal(t, &CloseError{Code: StatusNormalClosure, Reason: "ok"}, m.err)
		assert.Equal(t, CloseEvent{Code: StatusNormalClosure, Reason: "ok", WasClean: true, Initiator: SideLocal}, c.CloseEvent())
	})
}

// TestCloseWithoutReader: with nobody reading, Close reads and discards
// the peer's messages itself until the close frame.
func TestCloseWithoutReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "") }()
		p.wantClose(StatusNormalClosure)
		p.send(wText, []byte("dis"))
		p.send(fin|wPing, []byte("still answered"))
		// [RFC6455 5.5.2]: pings are answered until the peer's close
		// frame, even after ours.
		p.wantFrame(fin|wPong, "still answered")
		p.send(fin|wCont, []byte("carded"))
		p.sendClose(StatusNormalClosure, "")
		p.wantEOF()
		require.NoError(t, <-closed)
		_, _, err := c.ReadMessage()
		assert.Equal(t, &CloseError{Code: StatusNormalClosure}, err)
	})
}

// TestCloseTimeout drops TCP when the peer never answers, after exactly
// the close timeout, with or without a reader.
func TestCloseTimeout(t *testing.T) {
	for _, reading := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "with reader"}[reading], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, c := pipeConn(t, &Upgrader{CloseTimeout: 2 * time.Second})
				var msgs <-chan message
				if reading {
					msgs = readAll(c)
					synctest.Wait()
				}
				start := time.Now()
				closed := make(chan error, 1)
				go func() { closed <- c.Close(StatusNormalClosure, "") }()
				p.wantClose(StatusNormalClosure)
				p.wantEOF()
				err := <-closed
				assert.Equal(t, 2*time.Second, time.Since(start))
				require.ErrorIs(t, err, ErrCloseTimeout)
				ev := c.CloseEvent()
				assert.Equal(t, StatusAbnormalClosure, ev.Code)
				assert.False(t, ev.WasClean)
				assert.ErrorIs(t, ev.Err, ErrCloseTimeout)
				if reading {
					m := <-msgs
					assert.Equal(t, StatusAbnormalClosure, CloseStatus(m.err))
					assert.ErrorIs(t, m.err, ErrCloseTimeout)
				}
			})
		})
	}
}

// TestTerminateDuringClose cuts a waiting Close short at once.
func TestTerminateDuringClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		start := time.Now()
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "") }()
		p.wantClose(StatusNormalClosure)
		synctest.Wait() // Close is waiting for the peer
		require.NoError(t, c.Terminate())
		require.ErrorIs(t, <-closed, ErrTerminated)
		assert.Zero(t, time.Since(start))
		p.wantEOF()
		ev := c.CloseEvent()
		assert.Equal(t, StatusAbnormalClosure, ev.Code)
		assert.Equal(t, SideLocal, ev.Initiator)
		assert.ErrorIs(t, ev.Err, ErrTerminated)
		assert.ErrorIs(t, c.Terminate(), net.ErrClosed)
	})
}

// TestTerminate unblocks a blocked reader and a blocked writer, sends
// nothing, and ends the connection with 1006.
func TestTerminate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		msgs := readAll(c)
		wrote := make(chan error, 1)
		go func() { wrote <- c.WriteMessage(BinaryMessage, make([]byte, 1<<16)) }()
		synctest.Wait() // both are blocked on the pipe
		require.NoError(t, c.Terminate())
		require.Error(t, <-wrote)
		m := <-msgs
		assert.Equal(t, StatusAbnormalClosure, CloseStatus(m.err))
		assert.ErrorIs(t, m.err, ErrTerminated)
		p.wantEOF()
		assert.ErrorIs(t, c.Terminate(), net.ErrClosed)
		assert.ErrorIs(t, c.Close(StatusNormalClosure, ""), net.ErrClosed)
		assert.ErrorIs(t, c.WriteMessage(TextMessage, nil), net.ErrClosed)
		<-c.Done()
	})
}

// TestCloseTwice: a second Close while the first waits returns at once,
// sending nothing.
func TestCloseTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "first") }()
		p.wantClose(StatusNormalClosure)
		synctest.Wait()
		assert.ErrorIs(t, c.Close(StatusGoingAway, "second"), net.ErrClosed)
		p.sendClose(StatusNormalClosure, "")
		p.wantEOF() // no second close frame
		require.NoError(t, <-closed)
	})
}

// TestSimultaneousClose: both ends send a close frame before reading the
// other's; each takes the other's frame as the answer, and the server
// closes TCP.
func TestSimultaneousClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusGoingAway, "server") }()
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			p.sendClose(StatusNormalClosure, "client")
		}()
		require.Equal(t, "server", p.wantClose(StatusGoingAway))
		<-sent
		p.wantEOF()
		require.NoError(t, <-closed)
		assert.Equal(t, CloseEvent{Code: StatusNormalClosure, Reason: "client", WasClean: true, Initiator: SideLocal}, c.CloseEvent())
	})
}

// TestCloseJoinsPeerClose: Close called while the peer's close frame is
// being answered joins that handshake and reports it clean.
func TestCloseJoinsPeerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		msgs := readAll(c)
		p.sendClose(StatusGoingAway, "")
		synctest.Wait() // the reader is writing the echo
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "") }()
		synctest.Wait()
		p.wantClose(StatusGoingAway)
		p.wantEOF()
		require.NoError(t, <-closed)
		assert.Equal(t, StatusGoingAway, CloseStatus((<-msgs).err))
		assert.Equal(t, CloseEvent{Code: StatusGoingAway, WasClean: true, Initiator: SidePeer}, c.CloseEvent())
	})
}

// TestSimultaneousCloseTCP races Close against the peer's close frame on a
// real connection: whichever wins, both ends see a clean close.
func TestSimultaneousCloseTCP(t *testing.T) {
	for range 20 {
		p, c := connect(t, nil)
		msgs := readAll(c)
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "") }()
		p.sendClose(StatusNormalClosure, "")
		p.wantClose(StatusNormalClosure)
		p.wantEOF()
		// Close returns nil when it took part in the handshake, and
		// net.ErrClosed when the peer's close had ended the connection
		// before Close began.
		if err := <-closed; err != nil {
			require.ErrorIs(t, err, net.ErrClosed)
		}
		assert.Equal(t, StatusNormalClosure, CloseStatus((<-msgs).err))
		assert.True(t, wantDone(t, c).WasClean)
	}
}

// TestConcurrentClose: of many Closes at once, one sends the close frame
// and the rest return net.ErrClosed.
func TestConcurrentClose(t *testing.T) {
	p, c := connect(t, nil)
	const n = 8
	results := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { results <- c.Close(StatusNormalClosure, "") })
	}
	p.wantClose(StatusNormalClosure)
	p.sendClose(StatusNormalClosure, "")
	p.wantEOF()
	wg.Wait()
	close(results)
	var ok int
	for err := range results {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, net.ErrClosed)
		}
	}
	assert.Equal(t, 1, ok)
}

// halfConn is one end of a connection made of two net.Pipes, one per
// direction, so that CloseWrite ends one direction and keeps the other,
// as on TCP; a single net.Pipe closes both.
type halfConn struct {
	net.Conn          // reads come from here
	w        net.Conn // writes go here
}

func (h *halfConn) Write(p []byte) (int, error)        { return h.w.Write(p) }
func (h *halfConn) SetWriteDeadline(t time.Time) error { return h.w.SetWriteDeadline(t) }
func (h *halfConn) CloseWrite() error                  { return h.w.Close() }

func (h *halfConn) SetDeadline(t time.Time) error {
	_ = h.w.SetWriteDeadline(t)
	return h.Conn.SetReadDeadline(t)
}

func (h *halfConn) Close() error {
	_ = h.w.Close()
	return h.Conn.Close()
}

// halfPipe returns the two ends of a half-closable in-memory connection.
func halfPipe() (a, b *halfConn) {
	aOut, bIn := net.Pipe()
	bOut, aIn := net.Pipe()
	return &halfConn{Conn: aIn, w: aOut}, &halfConn{Conn: bIn, w: bOut}
}

// TestViolationLingerWithinCloseTimeout: when Close's own drain reads a
// protocol violation late in the handshake, the linger that follows ends
// at Close's timeout, not at a fresh one. The peer never closes its side,
// so only the close timer ends the linger.
func TestViolationLingerWithinCloseTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const closeTimeout = 5 * time.Second
		server, client := halfPipe()
		c := newConn(&netStream{Conn: server}, (&Upgrader{CloseTimeout: closeTimeout}).config(""))
		t.Cleanup(func() {
			_ = c.Terminate()
			client.Close()
		})
		p := &peer{t: t, conn: client, br: bufio.NewReader(client), key: [4]byte{9, 8, 7, 6}, timeout: time.Hour}
		start := time.Now()
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "") }()
		p.wantClose(StatusNormalClosure)
		time.Sleep(closeTimeout * 6 / 10)
		p.sendRaw([]byte{fin | wText, 2, 'h', 'i'}) // unmasked: a violation
		p.wantEOF()                                 // the linger's half-close
		require.ErrorIs(t, <-closed, ErrProtocol)
		assert.Equal(t, closeTimeout, time.Since(start))
	})
}

// TestCloseMidMessage: a reader that is between two reads of a message
// when Close is called gets the rest of it, as the peer sent it before
// its close frame; Close does not discard it in the reader's place.
func TestCloseMidMessage(t *testing.T) {
	// The reader comes back well within the grace; a slow machine must
	// not make it miss.
	grace := readerGrace
	readerGrace = 10 * time.Second
	t.Cleanup(func() { readerGrace = grace })
	p, c := connect(t, nil)
	p.send(wText, []byte("part1"))
	firstRead, goOn := make(chan struct{}), make(chan struct{})
	rest := make(chan string, 1)
	go func() {
		_, r, err := c.NextReader()
		if err != nil {
			rest <- err.Error()
			return
		}
		var first [5]byte
		_, _ = io.ReadFull(r, first[:])
		close(firstRead)
		<-goOn
		b, err := io.ReadAll(r)
		if err != nil {
			rest <- err.Error()
			return
		}
		rest <- string(b)
		for err == nil {
			_, _, err = c.NextReader() // on to the peer's close frame
		}
	}()
	<-firstRead
	closed := make(chan error, 1)
	go func() { closed <- c.Close(StatusNormalClosure, "") }()
	p.wantClose(StatusNormalClosure)
	p.send(fin|wCont, []byte("part2"))
	p.sendClose(StatusNormalClosure, "")
	close(goOn)
	assert.Equal(t, "part2", <-rest)
	p.wantEOF()
	require.NoError(t, <-closed)
}

// TestCloseLiftsApplicationDeadlines: deadlines the application set for
// its own reads and writes do not cut the closing handshake short, even
// when they have passed; the close timeout bounds it instead.
func TestCloseLiftsApplicationDeadlines(t *testing.T) {
	p, c := connect(t, nil)
	past := time.Now().Add(-time.Second)
	require.NoError(t, c.SetReadDeadline(past))
	require.NoError(t, c.SetWriteDeadline(past))
	closed := make(chan error, 1)
	go func() { closed <- c.Close(StatusGoingAway, "bye") }()
	p.wantClose(StatusGoingAway)
	p.sendClose(StatusGoingAway, "")
	p.wantEOF()
	require.NoError(t, <-closed)
	assert.True(t, c.CloseEvent().WasClean)
}
