package websocket

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// served serves c with an echo and returns a channel that receives each
// time c goes back to the poller (never, off Linux) and one that receives
// its CloseEvent.
func served(t *testing.T, c *Conn) (parked <-chan struct{}, ended <-chan CloseEvent) {
	t.Helper()
	park := parkSignal(t, c)
	end := make(chan CloseEvent, 1)
	require.NoError(t, c.Serve(func(typ MessageType, r io.Reader) {
		w, err := c.NextWriter(typ)
		if err != nil {
			return
		}
		_, _ = io.Copy(w, r)
		_ = w.Close()
	}, func(ev CloseEvent) { end <- ev }))
	return park, end
}

// parkSignal returns a channel that receives each time c goes back to
// its poller (never, off Linux), for the rest of the test.
func parkSignal(t *testing.T, c *Conn) <-chan struct{} {
	park := make(chan struct{}, 64)
	hook := func(cc *Conn) {
		if cc == c {
			park <- struct{}{}
		}
	}
	serveParked.Store(&hook)
	t.Cleanup(func() { serveParked.Store(nil) })
	return park
}

// wantParked waits until c has gone back to its poller, with nothing
// left to read: on Linux, a served connection holds no goroutine then.
func wantParked(t *testing.T, parked <-chan struct{}) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	select {
	case <-parked:
	case <-time.After(wireTimeout):
		t.Fatal("the served connection did not go back to its poller")
	}
}

func wantEnded(t *testing.T, ended <-chan CloseEvent) CloseEvent {
	t.Helper()
	select {
	case ev := <-ended:
		return ev
	case <-time.After(wireTimeout):
		t.Fatal("onEnd was not called")
		return CloseEvent{}
	}
}

// TestServe: messages, fragmented or not, and pings reach a served
// connection, which goes back to the poller between them; the peer's
// close ends it cleanly and calls onEnd.
func TestServe(t *testing.T) {
	p, c := connect(t, nil)
	parked, ended := served(t, c)
	wantParked(t, parked)
	for _, msg := range []string{"hello", "", string(make([]byte, 60000))} {
		p.send(fin|wText, []byte(msg))
		p.wantFrame(fin|wText, msg)
		wantParked(t, parked)
	}
	p.send(wBinary, []byte("frag"))
	p.send(fin|wCont, []byte("ments"))
	p.wantFrame(fin|wBinary, "fragments")
	wantParked(t, parked)
	p.send(fin|wPing, []byte("idle?"))
	p.wantFrame(fin|wPong, "idle?")
	wantParked(t, parked)
	// Two messages in one write: both are served before the connection
	// goes back to the poller.
	p.sendRaw(append(p.frame(fin|wText, []byte("one")), p.frame(fin|wText, []byte("two"))...))
	p.wantFrame(fin|wText, "one")
	p.wantFrame(fin|wText, "two")
	wantParked(t, parked)

	p.sendClose(StatusGoingAway, "bye")
	p.wantFrame(fin|wClose, string(closeBody(StatusGoingAway, "bye")))
	p.wantEOF()
	ev := wantEnded(t, ended)
	assert.Equal(t, CloseEvent{Code: StatusGoingAway, Reason: "bye", WasClean: true, Initiator: SidePeer}, ev)
	assert.ErrorContains(t, c.Serve(func(MessageType, io.Reader) {}, nil), "already")
}

// TestServeClose: Close and Terminate work on a connection that waits in
// the poller, with no goroutine to read the peer's answer.
func TestServeClose(t *testing.T) {
	t.Run("Close", func(t *testing.T) {
		p, c := connect(t, nil)
		parked, ended := served(t, c)
		wantParked(t, parked)
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "done") }()
		require.Equal(t, "done", p.wantClose(StatusNormalClosure))
		p.sendClose(StatusNormalClosure, "done")
		p.wantEOF()
		require.NoError(t, <-closed)
		ev := wantEnded(t, ended)
		assert.Equal(t, CloseEvent{Code: StatusNormalClosure, Reason: "done", WasClean: true, Initiator: SideLocal}, ev)
	})
	t.Run("Terminate", func(t *testing.T) {
		p, c := connect(t, nil)
		parked, ended := served(t, c)
		wantParked(t, parked)
		require.NoError(t, c.Terminate())
		_, err := p.readFrame()
		require.Error(t, err)
		ev := wantEnded(t, ended)
		assert.Equal(t, StatusAbnormalClosure, ev.Code)
		assert.ErrorIs(t, ev.Err, ErrTerminated)
	})
	t.Run("Close from onMessage", func(t *testing.T) {
		p, c := connect(t, nil)
		closed := make(chan error, 1)
		ended := make(chan CloseEvent, 1)
		require.NoError(t, c.Serve(func(MessageType, io.Reader) {
			closed <- c.Close(StatusPolicyViolation, "no")
		}, func(ev CloseEvent) { ended <- ev }))
		p.send(fin|wText, []byte("hi"))
		require.Equal(t, "no", p.wantClose(StatusPolicyViolation))
		p.sendClose(StatusPolicyViolation, "")
		p.wantEOF()
		require.NoError(t, <-closed)
		assert.True(t, wantEnded(t, ended).WasClean)
	})
}

// TestServeViolation: a protocol violation fails a served connection as
// it fails one read by NextReader.
func TestServeViolation(t *testing.T) {
	p, c := connect(t, nil)
	parked, ended := served(t, c)
	wantParked(t, parked)
	p.sendRaw([]byte{fin | wText, 2, 'h', 'i'}) // unmasked
	p.wantClose(StatusProtocolError)
	p.wantEOF()
	require.NoError(t, p.conn.Close())
	ev := wantEnded(t, ended)
	assert.Equal(t, StatusAbnormalClosure, ev.Code)
	assert.ErrorIs(t, ev.Err, ErrProtocol)
}

// TestServeBufferedFirst: a message that came in the same packet as the
// upgrade request is already in the Conn's buffer, where the poller
// cannot see it; Serve still serves it at once.
func TestServeBufferedFirst(t *testing.T) {
	srv, conns := startServer(t, nil)
	addr := srv.Listener.Addr().String()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(wireTimeout))
	p := &peer{t: t, conn: conn, br: bufio.NewReader(conn), key: [4]byte{1, 2, 3, 4}}
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	p.sendRaw(append([]byte(req), p.frame(fin|wText, []byte("early"))...))
	resp, err := http.ReadResponse(p.br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	c := <-conns
	parked, _ := served(t, c)
	p.wantFrame(fin|wText, "early")
	wantParked(t, parked)
}

// TestServeWithoutPoller: a Conn on a stream that is not a socket is
// served by a goroutine of its own.
func TestServeWithoutPoller(t *testing.T) {
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	c := newConn(&netStream{Conn: server}, (&Upgrader{}).config(""))
	t.Cleanup(func() { _ = c.Terminate() })
	require.Nil(t, c.br.raw)
	_, ended := served(t, c)
	p := &peer{t: t, conn: client, br: bufio.NewReader(client), key: [4]byte{9, 8, 7, 6}}
	go p.send(fin|wBinary, []byte("piped"))
	p.wantFrame(fin|wBinary, "piped")
	require.NoError(t, c.Terminate())
	assert.Equal(t, StatusAbnormalClosure, wantEnded(t, ended).Code)
}

// TestServeEndRace: a connection that ends while Serve registers it is
// forgotten by the poller all the same (goleak, in TestMain, sees the
// poller stop) and its onEnd runs once.
func TestServeEndRace(t *testing.T) {
	for range 50 {
		_, c := connect(t, nil)
		ended := make(chan CloseEvent, 2)
		go func() { _ = c.Terminate() }()
		require.NoError(t, c.Serve(func(MessageType, io.Reader) {}, func(ev CloseEvent) { ended <- ev }))
		assert.Equal(t, StatusAbnormalClosure, wantEnded(t, ended).Code)
	}
}

// TestServeEndAfterMessage: onEnd waits for the onMessage that is running
// when the connection ends, so that it may free what onMessage uses.
func TestServeEndAfterMessage(t *testing.T) {
	p, c := connect(t, nil)
	inMessage, finish := make(chan struct{}), make(chan struct{})
	var running atomic.Bool
	ranDuring := make(chan bool, 1)
	require.NoError(t, c.Serve(func(MessageType, io.Reader) {
		running.Store(true)
		close(inMessage)
		<-finish
		running.Store(false)
	}, func(CloseEvent) { ranDuring <- running.Load() }))
	p.send(fin|wText, []byte("hold on"))
	<-inMessage
	require.NoError(t, c.Terminate())
	<-c.Done()
	close(finish)
	assert.False(t, <-ranDuring, "onEnd ran while onMessage was running")
}

// TestServeReadDeadline: a read deadline ends a served connection that
// waits in the poller, as it ends a read loop's blocked read.
func TestServeReadDeadline(t *testing.T) {
	_, c := connect(t, nil)
	parked, ended := served(t, c)
	wantParked(t, parked)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	ev := wantEnded(t, ended)
	assert.Equal(t, StatusAbnormalClosure, ev.Code)
	assert.ErrorIs(t, ev.Err, os.ErrDeadlineExceeded)
}

// TestServeCloseDelivers: while Close waits for the peer's close frame,
// the messages the peer sends before it still reach onMessage, as they
// reach a read loop inside NextReader.
func TestServeCloseDelivers(t *testing.T) {
	p, c := connect(t, nil)
	park := parkSignal(t, c)
	got := make(chan string, 4)
	require.NoError(t, c.Serve(func(_ MessageType, r io.Reader) {
		b, _ := io.ReadAll(r)
		got <- string(b)
	}, nil))
	wantParked(t, park)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(StatusNormalClosure, "") }()
	p.wantClose(StatusNormalClosure)
	p.send(fin|wText, []byte("sent before the peer's close"))
	p.sendClose(StatusNormalClosure, "")
	p.wantEOF()
	require.NoError(t, <-closed)
	select {
	case m := <-got:
		assert.Equal(t, "sent before the peer's close", m)
	default:
		t.Error("the message before the peer's close frame was discarded")
	}
}

// TestServeCloseWaitsBetweenMessages: while Close waits for the peer's
// close frame, a served connection whose onMessage is still busy with
// one message gets the next one too, as a read loop that comes back
// within the reader grace does; Close does not read it in its place.
func TestServeCloseWaitsBetweenMessages(t *testing.T) {
	grace := readerGrace
	readerGrace = 10 * time.Second // far beyond the test's pause
	t.Cleanup(func() { readerGrace = grace })
	p, c := connect(t, nil)
	park := parkSignal(t, c)
	got := make(chan string, 4)
	busy, goOn := make(chan struct{}), make(chan struct{})
	require.NoError(t, c.Serve(func(_ MessageType, r io.Reader) {
		b, _ := io.ReadAll(r)
		got <- string(b)
		if string(b) == "first" {
			close(busy)
			<-goOn
		}
	}, nil))
	wantParked(t, park)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(StatusNormalClosure, "") }()
	p.wantClose(StatusNormalClosure)
	p.send(fin|wText, []byte("first"))
	<-busy
	p.send(fin|wText, []byte("second"))
	p.sendClose(StatusNormalClosure, "")
	// A window in which a Close that reads in onMessage's place would do
	// so. Nothing waits on it: with a correct Close the test passes
	// however long it is, and no hook can report "Close did nothing".
	time.Sleep(100 * time.Millisecond)
	close(goOn)
	p.wantEOF()
	require.NoError(t, <-closed)
	assert.Equal(t, "first", <-got)
	select {
	case m := <-got:
		assert.Equal(t, "second", m)
	default:
		t.Error("Close discarded the message onMessage would have read next")
	}
}
