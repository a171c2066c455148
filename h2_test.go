package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
)

// h2Server is an h2c server whose handler upgrades every request but
// /plain, and lives as long as the Conn, as Upgrade asks over HTTP/2.
type h2Server struct {
	srv   *httptest.Server
	conns chan *Conn
	reqs  chan *http.Request // the upgraded requests, as the handler saw them
	tcp   atomic.Int32       // TCP connections accepted
}

func startH2Server(t testing.TB, u *Upgrader) *h2Server {
	t.Helper()
	s := &h2Server{conns: make(chan *Conn, 4), reqs: make(chan *http.Request, 4)}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			_, _ = io.WriteString(w, "plain")
			return
		}
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.reqs <- r
		s.conns <- c
		if r.URL.Path != "/return-early" {
			<-c.Done()
		}
	}))
	s.srv.Config.Protocols = new(http.Protocols)
	s.srv.Config.Protocols.SetHTTP1(true)
	s.srv.Config.Protocols.SetUnencryptedHTTP2(true)
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.tcp.Add(1)
		}
	}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// conn waits for the next upgraded connection; it is terminated at the
// end of the test.
func (s *h2Server) conn(t testing.TB) (*Conn, *http.Request) {
	t.Helper()
	select {
	case c := <-s.conns:
		t.Cleanup(func() { _ = c.Terminate() })
		return c, <-s.reqs
	case <-time.After(wireTimeout):
		t.Fatal("the server did not upgrade the request")
		return nil, nil
	}
}

// h2Conn is conn for a request that must have come as an HTTP/2
// extended CONNECT.
func (s *h2Server) h2Conn(t testing.TB) *Conn {
	t.Helper()
	c, r := s.conn(t)
	require.Equal(t, 2, r.ProtoMajor, "not HTTP/2")
	require.Equal(t, http.MethodConnect, r.Method)
	return c
}

// connectH2 opens a WebSocket over a fresh h2c server.
func connectH2(t *testing.T, u *Upgrader) (*h2Server, *h2Client, *peer, *h2ClientStream, *Conn) {
	t.Helper()
	srv := startH2Server(t, u)
	client := dialH2(t, srv.srv.Listener.Addr().String())
	p, st := client.openWebSocket("/ws")
	return srv, client, p, st, srv.h2Conn(t)
}

func TestH2AnnouncesExtendedConnect(t *testing.T) {
	srv := startH2Server(t, &Upgrader{})
	client := dialH2(t, srv.srv.Listener.Addr().String())
	v, ok := client.setting(http2.SettingEnableConnectProtocol)
	require.True(t, ok, "no SETTINGS_ENABLE_CONNECT_PROTOCOL: is GODEBUG=http2xconnect=1 set?")
	require.Equal(t, uint32(1), v)
}

// TestH2Negotiation: the 200 carries the chosen subprotocol and
// extension, and no Sec-WebSocket-Accept.
func TestH2Negotiation(t *testing.T) {
	u := &Upgrader{Subprotocols: []string{"chat"}, Compression: CompressionContextTakeover}
	srv := startH2Server(t, u)
	client := dialH2(t, srv.srv.Listener.Addr().String())
	st := client.open(client.websocketRequest("/ws",
		"sec-websocket-protocol", "other, chat",
		"sec-websocket-extensions", "permessage-deflate"), false)
	h := st.wantHeaders()
	require.Equal(t, "200", h.PseudoValue("status"))
	got := map[string]string{}
	for _, f := range h.RegularFields() {
		got[f.Name] = f.Value
	}
	assert.Equal(t, "chat", got["sec-websocket-protocol"])
	assert.Equal(t, "permessage-deflate", got["sec-websocket-extensions"])
	assert.NotContains(t, got, "sec-websocket-accept", "no accept over HTTP/2 (RFC 8441 section 5)")
	c := srv.h2Conn(t)
	require.Equal(t, "chat", c.Subprotocol())
}

func TestH2Echo(t *testing.T) {
	_, _, p, _, c := connectH2(t, &Upgrader{})
	p.send(fin|wText, []byte("hello"))
	typ, msg, err := c.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, TextMessage, typ)
	require.Equal(t, "hello", string(msg))
	require.NoError(t, c.WriteMessage(BinaryMessage, []byte("back")))
	p.wantFrame(fin|wBinary, "back")
	// A large message crosses several DATA frames and flow-control
	// windows, both ways.
	big := make([]byte, 200<<10)
	for i := range big {
		big[i] = byte(i)
	}
	p.send(fin|wBinary, big)
	_, msg, err = c.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, big, msg)
	go func() { _ = c.WriteMessage(BinaryMessage, big) }()
	f, err := p.readFrame()
	require.NoError(t, err)
	require.Equal(t, byte(fin|wBinary), f.first)
	require.Equal(t, big, f.payload)
}

// TestH2ServerClose: the server starts the closing handshake; after the
// peer's answer it ends its side of the stream in order (END_STREAM),
// and both sides see a clean close with the server's code and reason.
func TestH2ServerClose(t *testing.T) {
	_, _, p, st, c := connectH2(t, &Upgrader{})
	closed := make(chan error, 1)
	go func() { closed <- c.Close(4001, "bye") }()
	require.Equal(t, "bye", p.wantClose(4001))
	p.sendClose(4001, "bye")
	require.NoError(t, <-closed)
	p.wantEOF()
	ended, reset := st.state()
	require.True(t, ended, "no END_STREAM")
	if reset != nil {
		// net/http's way to say "stop sending" once its response is
		// complete (RFC 9113 section 8.1): never an error code.
		require.Equal(t, http2.ErrCodeNo, *reset)
	}
	ev := wantDone(t, c)
	require.Equal(t, CloseEvent{Code: 4001, Reason: "bye", WasClean: true, Initiator: SideLocal}, ev)
}

// TestH2PeerClose: the peer starts it; the server answers with the same
// code and reason and ends the stream in order.
func TestH2PeerClose(t *testing.T) {
	_, _, p, st, c := connectH2(t, &Upgrader{})
	p.sendClose(4002, "later")
	_, _, err := c.ReadMessage()
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, StatusCode(4002), ce.Code)
	require.Equal(t, "later", p.wantClose(4002))
	// The peer may end its own side too, as a browser does.
	require.NoError(t, st.endStream())
	p.wantEOF()
	ev := wantDone(t, c)
	require.Equal(t, CloseEvent{Code: 4002, Reason: "later", WasClean: true, Initiator: SidePeer}, ev)
}

// TestH2Terminate: Terminate resets the stream, sends no close frame,
// and leaves the TCP connection and its other streams working.
func TestH2Terminate(t *testing.T) {
	srv, client, p, st, c := connectH2(t, &Upgrader{})
	other, _ := client.openWebSocket("/ws")
	c2 := srv.h2Conn(t)

	require.NoError(t, c.Terminate())
	require.Equal(t, http2.ErrCodeInternal, st.wantReset(), "net/http resets with INTERNAL_ERROR")
	_, err := p.readFrame()
	require.Error(t, err, "a frame after Terminate")
	ev := wantDone(t, c)
	require.Equal(t, StatusAbnormalClosure, ev.Code)
	require.False(t, ev.WasClean)
	require.ErrorIs(t, ev.Err, ErrTerminated)

	// The other WebSocket and plain requests go on over the same TCP
	// connection.
	other.send(fin|wText, []byte("still here"))
	_, msg, err := c2.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "still here", string(msg))
	require.NoError(t, c2.WriteMessage(TextMessage, []byte("me too")))
	other.wantFrame(fin|wText, "me too")
	status, body := client.get("/plain")
	require.Equal(t, "200", status)
	require.Equal(t, "plain", body)
	require.Equal(t, int32(1), srv.tcp.Load(), "one TCP connection")
}

// TestH2PeerReset: a peer that resets its stream ends the Conn with
// 1006, started by the peer.
func TestH2PeerReset(t *testing.T) {
	_, _, _, st, c := connectH2(t, &Upgrader{})
	require.NoError(t, st.resetStream(http2.ErrCodeCancel))
	_, _, err := c.ReadMessage()
	require.Equal(t, StatusAbnormalClosure, CloseStatus(err))
	ev := wantDone(t, c)
	require.Equal(t, StatusAbnormalClosure, ev.Code)
	require.Equal(t, SidePeer, ev.Initiator)
	require.False(t, ev.WasClean)
}

// TestH2PeerEndsStream: END_STREAM from the peer before any close frame
// is the peer closing TCP without a handshake.
func TestH2PeerEndsStream(t *testing.T) {
	_, _, _, st, c := connectH2(t, &Upgrader{})
	require.NoError(t, st.endStream())
	_, _, err := c.ReadMessage()
	require.Equal(t, StatusAbnormalClosure, CloseStatus(err))
	ev := wantDone(t, c)
	require.Equal(t, SidePeer, ev.Initiator)
	require.False(t, ev.WasClean)
	require.Equal(t, http2.ErrCodeInternal, st.wantReset(), "the server drops its side")
}

// TestH2HandlerReturnsEarly: a handler that returns before its Conn has
// ended ends the stream; the Conn notices and ends with 1006.
func TestH2HandlerReturnsEarly(t *testing.T) {
	srv := startH2Server(t, &Upgrader{})
	client := dialH2(t, srv.srv.Listener.Addr().String())
	_, st := client.openWebSocket("/return-early")
	c := srv.h2Conn(t)
	ev := wantDone(t, c)
	require.Equal(t, StatusAbnormalClosure, ev.Code)
	require.ErrorIs(t, ev.Err, errStreamGone)
	_ = st.await(time.Now().Add(wireTimeout), func() bool { return st.ended })
	ended, _ := st.state()
	require.True(t, ended, "net/http ends the stream when the handler returns")
	require.ErrorIs(t, c.WriteMessage(TextMessage, []byte("x")), net.ErrClosed)
}

// TestH2WriteTimeout: a peer that grants no flow-control window holds a
// write until the WriteTimeout, which resets the stream.
func TestH2WriteTimeout(t *testing.T) {
	srv := startH2Server(t, &Upgrader{WriteTimeout: 200 * time.Millisecond})
	client := dialH2(t, srv.srv.Listener.Addr().String())
	client.withholdWindow = true
	_, st := client.openWebSocket("/ws")
	c := srv.h2Conn(t)
	// The initial window is 65,535 bytes: the write cannot complete.
	err := c.WriteMessage(BinaryMessage, make([]byte, 100<<10))
	require.ErrorIs(t, err, ErrWriteTimeout)
	require.Equal(t, http2.ErrCodeInternal, st.wantReset())
	ev := wantDone(t, c)
	require.ErrorIs(t, ev.Err, ErrWriteTimeout)
	require.Equal(t, SideLocal, ev.Initiator)
}

// TestH2GroupDrain: Group.Shutdown closes HTTP/2 connections with 1001
// and refuses new ones with 503.
func TestH2GroupDrain(t *testing.T) {
	g := &Group{}
	u := &Upgrader{Group: g}
	srv, client, p, _, c := connectH2(t, u)
	res := make(chan error, 1)
	go func() {
		_, err := g.Shutdown(context.Background(), StatusGoingAway, "restart")
		res <- err
	}()
	require.Equal(t, "restart", p.wantClose(StatusGoingAway))
	p.sendClose(StatusGoingAway, "restart")
	require.NoError(t, <-res)
	require.True(t, wantDone(t, c).WasClean)
	st := client.open(client.websocketRequest("/ws"), false)
	require.Equal(t, "503", st.wantHeaders().PseudoValue("status"))
	_ = srv
}

// TestH2Refusals: malformed extended CONNECTs are refused with the right
// status, before any WebSocket exists, and counted.
func TestH2Refusals(t *testing.T) {
	stats := &Stats{}
	srv := startH2Server(t, &Upgrader{Stats: stats})
	client := dialH2(t, srv.srv.Listener.Addr().String())
	authority := client.conn.RemoteAddr().String()
	tests := []struct {
		name      string
		fields    []string
		endStream bool
		body      string
		status    string
		reason    string
		header    [2]string // a header the refusal must carry
	}{
		{name: "classic CONNECT, no :protocol", fields: []string{":method", "CONNECT", ":authority", authority, "sec-websocket-version", "13"},
			status: "400", reason: RefusalProtocol},
		{name: "other :protocol", fields: []string{":method", "CONNECT", ":protocol", "webtransport", ":scheme", "http", ":path", "/ws", ":authority", authority, "sec-websocket-version", "13"},
			status: "501", reason: RefusalProtocol},
		{name: "GET", fields: []string{":method", "GET", ":scheme", "http", ":path", "/ws", ":authority", authority, "sec-websocket-version", "13"}, endStream: true,
			status: "405", reason: RefusalMethod, header: [2]string{"allow", "CONNECT"}},
		{name: "version 8", fields: client.websocketRequest("/ws")[:10], status: "400", reason: RefusalVersion, header: [2]string{"sec-websocket-version", "13"}},
		{name: "body with a length", fields: client.websocketRequest("/ws", "content-length", "5"), body: "hello",
			status: "400", reason: RefusalBody},
		{name: "stream ended with the headers", fields: client.websocketRequest("/ws"), endStream: true,
			status: "400", reason: RefusalBody},
		{name: "cross origin", fields: client.websocketRequest("/ws", "origin", "http://evil.example"),
			status: "403", reason: RefusalOrigin},
	}
	tests[3].fields = append(tests[3].fields, "sec-websocket-version", "8")
	// One loop, no subtests: the client's helpers fail the test that
	// dialed it.
	for _, tt := range tests {
		status, err := strconv.Atoi(tt.status)
		require.NoError(t, err)
		counted := Refusal{Status: status, Reason: tt.reason}
		before := stats.Snapshot().Refused[counted]
		st := client.open(tt.fields, tt.endStream)
		if tt.body != "" {
			_, err := st.Write([]byte(tt.body))
			require.NoError(t, err, tt.name)
		}
		h := st.wantHeaders()
		require.Equal(t, tt.status, h.PseudoValue("status"), tt.name)
		if tt.header[0] != "" {
			var found bool
			for _, f := range h.RegularFields() {
				found = found || (f.Name == tt.header[0] && f.Value == tt.header[1])
			}
			require.True(t, found, "%s: want %s: %s", tt.name, tt.header[0], tt.header[1])
		}
		require.Equal(t, before+1, stats.Snapshot().Refused[counted], tt.name)
	}
	select {
	case c := <-srv.conns:
		t.Fatalf("a refused request made a Conn: %v", c)
	default:
	}
}

// TestH2UpgradeNeedsNoHijack: over HTTP/2 Upgrade never hijacks, and an
// HTTP/1.1 request on the same server still upgrades as before.
func TestH2UpgradeNeedsNoHijack(t *testing.T) {
	srv := startH2Server(t, &Upgrader{})
	p := dial(t, srv.srv.Listener.Addr().String(), nil)
	c, r := srv.conn(t)
	require.Equal(t, 1, r.ProtoMajor)
	p.send(fin|wText, []byte("h1"))
	_, msg, err := c.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "h1", string(msg))
	require.False(t, errors.Is(err, ErrBadHandshake))
}

// TestH2Serve: Serve runs an HTTP/2 connection in a goroutine of its own
// (there is no socket to poll), echo and close included.
func TestH2Serve(t *testing.T) {
	stats := &Stats{}
	_, _, p, _, c := connectH2(t, &Upgrader{Stats: stats, PingInterval: time.Hour})
	ended := make(chan CloseEvent, 1)
	require.NoError(t, c.Serve(func(typ MessageType, r io.Reader) {
		msg, _ := io.ReadAll(r)
		_ = c.WriteMessage(typ, msg)
	}, func(ev CloseEvent) { ended <- ev }))
	p.send(fin|wText, []byte("served"))
	p.wantFrame(fin|wText, "served")
	p.sendClose(StatusNormalClosure, "")
	p.wantClose(StatusNormalClosure)
	p.wantEOF()
	select {
	case ev := <-ended:
		require.True(t, ev.WasClean)
	case <-time.After(wireTimeout):
		t.Fatal("onEnd was not called")
	}
	require.Equal(t, uint64(1), stats.Snapshot().ServeFallbacks)
}

// TestH2ViolationResets: a protocol violation gets its close frame, then
// the stream is reset at once: an HTTP/2 stream cannot be half-closed
// from a handler to linger as TCP does.
func TestH2ViolationResets(t *testing.T) {
	_, _, p, st, c := connectH2(t, &Upgrader{ReadLimit: 10})
	p.send(fin|wBinary, make([]byte, 100))
	_, _, err := c.ReadMessage()
	require.ErrorIs(t, err, ErrMessageTooBig)
	p.wantClose(StatusMessageTooBig)
	require.Equal(t, http2.ErrCodeInternal, st.wantReset())
	ev := wantDone(t, c)
	require.Equal(t, StatusAbnormalClosure, ev.Code, "as over HTTP/1.1")
	require.ErrorIs(t, ev.Err, ErrMessageTooBig)
	require.Equal(t, SideLocal, ev.Initiator)
	require.False(t, ev.WasClean)
}

// TestH2CloseTimeout: a peer that never answers our close frame has its
// stream reset at the close timeout.
func TestH2CloseTimeout(t *testing.T) {
	_, _, p, st, c := connectH2(t, &Upgrader{CloseTimeout: 100 * time.Millisecond})
	err := c.Close(4003, "late")
	require.ErrorIs(t, err, ErrCloseTimeout)
	require.Equal(t, "late", p.wantClose(4003))
	require.Equal(t, http2.ErrCodeInternal, st.wantReset())
	require.ErrorIs(t, wantDone(t, c).Err, ErrCloseTimeout)
}

// TestH2Heartbeat: a peer that answers no ping is terminated: its stream
// is reset.
func TestH2Heartbeat(t *testing.T) {
	_, _, p, st, c := connectH2(t, &Upgrader{PingInterval: 50 * time.Millisecond})
	f, err := p.readFrame()
	require.NoError(t, err)
	require.Equal(t, byte(fin|wPing), f.first)
	require.Equal(t, http2.ErrCodeInternal, st.wantReset())
	require.ErrorIs(t, wantDone(t, c).Err, ErrPongTimeout)
}

// TestH2ServerTimeoutsLifted: the http.Server's ReadTimeout and
// WriteTimeout bound the upgrade request only, as over HTTP/1.1: the
// WebSocket outlives them.
func TestH2ServerTimeoutsLifted(t *testing.T) {
	const timeout = 100 * time.Millisecond
	srv := &h2Server{conns: make(chan *Conn, 1), reqs: make(chan *http.Request, 1)}
	u := &Upgrader{}
	srv.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		srv.reqs <- r
		srv.conns <- c
		<-c.Done()
	}))
	srv.srv.Config.ReadTimeout, srv.srv.Config.WriteTimeout = timeout, timeout
	srv.srv.Config.Protocols = new(http.Protocols)
	srv.srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.srv.Start()
	t.Cleanup(srv.srv.Close)
	client := dialH2(t, srv.srv.Listener.Addr().String())
	p, _ := client.openWebSocket("/ws")
	c := srv.h2Conn(t)
	// Not a synchronization: the server's timeouts must pass, several
	// times over, before the connection is used again.
	<-time.After(3 * timeout)
	p.send(fin|wText, []byte("later"))
	_, msg, err := c.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "later", string(msg))
	require.NoError(t, c.WriteMessage(TextMessage, []byte("still")))
	p.wantFrame(fin|wText, "still")
}

// TestH2HTTPServerShutdown: http.Server.Shutdown waits for an HTTP/2
// WebSocket, a request in flight to it, until a Group drain hooked on
// RegisterOnShutdown ends it.
func TestH2HTTPServerShutdown(t *testing.T) {
	g := &Group{}
	srv, _, p, _, c := connectH2(t, &Upgrader{Group: g})
	drained := make(chan ShutdownResult, 1)
	srv.srv.Config.RegisterOnShutdown(func() {
		res, _ := g.Shutdown(context.Background(), StatusGoingAway, "bye")
		drained <- res
	})
	shut := make(chan error, 1)
	go func() { shut <- srv.srv.Config.Shutdown(context.Background()) }()
	require.Equal(t, "bye", p.wantClose(StatusGoingAway))
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned before the WebSocket ended: %v", err)
	default:
	}
	p.sendClose(StatusGoingAway, "bye")
	require.Equal(t, ShutdownResult{Clean: 1}, <-drained)
	require.True(t, wantDone(t, c).WasClean)
	select {
	case err := <-shut:
		require.NoError(t, err)
	case <-time.After(wireTimeout):
		t.Fatal("Shutdown did not return once the WebSocket had ended")
	}
}
