package websocket

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHandshakeAccepted sends valid variants of the request: header names
// and tokens are case-insensitive, and Upgrade and Connection are token
// lists that may be split over several lines.
func TestHandshakeAccepted(t *testing.T) {
	tests := []struct {
		name     string
		drop     []string
		add      []string
		upgrader *Upgrader
	}{
		{name: "plain"},
		{name: "Connection list", drop: []string{"Connection"}, add: []string{"Connection: keep-alive, Upgrade"}},
		{name: "Connection over two lines", drop: []string{"Connection"}, add: []string{"Connection: keep-alive", "Connection: Upgrade"}},
		{name: "Upgrade in mixed case", drop: []string{"Upgrade"}, add: []string{"Upgrade: WebSocket"}},
		{name: "Upgrade list", drop: []string{"Upgrade"}, add: []string{"Upgrade: h2c, websocket"}},
		{name: "lower-case name, upper-case token", drop: []string{"Connection"}, add: []string{"connection: UPGRADE"}},
		{name: "lower-case names", drop: []string{"Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"},
			add: []string{"upgrade: websocket", "sec-websocket-key: " + testKey, "sec-websocket-version: 13"}},
		{name: "same origin", add: []string{"Origin: http://{host}"}},
		{name: "an empty body", add: []string{"Content-Length: 0"}},
		{name: "CheckOrigin allows a cross origin", add: []string{"Origin: http://evil.example"},
			upgrader: &Upgrader{CheckOrigin: func(r *http.Request) bool {
				return r.Header.Get("Origin") == "http://evil.example"
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hsStartUpgrader(t, tt.upgrader, nil)
			c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, tt.drop, tt.add...)))
			hsWantSwitched(t, c, testKey)
			assert.Empty(t, c.resp.Header.Values("Sec-WebSocket-Protocol"))
			hsWantUpgraded(t, s, c)
		})
	}
}

// TestHandshakeAcceptKey checks Sec-WebSocket-Accept against the example
// of RFC 6455 section 1.3 and against values computed by the test.
func TestHandshakeAcceptKey(t *testing.T) {
	require.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", hsWantAccept(testKey), "the test's own computation")
	keys := []string{
		testKey,
		base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")),
		hsKey(0xfb, 16), // "+/v7...": both non-alphanumeric characters
		hsKey(0x00, 16),
	}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			s := hsStartUpgrader(t, nil, nil)
			c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr,
				[]string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: "+key)))
			hsWantSwitched(t, c, key)
			if key == testKey {
				assert.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", c.resp.Header.Get("Sec-WebSocket-Accept"))
			}
			hsWantUpgraded(t, s, c)
		})
	}
}

// TestHandshakeSubprotocol checks that the server's preference wins, that
// the client's offer may span lines, and that no common subprotocol means
// no Sec-WebSocket-Protocol header.
func TestHandshakeSubprotocol(t *testing.T) {
	tests := []struct {
		name   string
		server []string
		offer  []string // Sec-WebSocket-Protocol lines
		want   string
	}{
		{name: "server preference wins", server: []string{"b", "a"}, offer: []string{"a, b"}, want: "b"},
		{name: "offer over two lines", server: []string{"b", "a"}, offer: []string{"a", "b"}, want: "b"},
		{name: "only match on the second line", server: []string{"chat.v2"}, offer: []string{"chat.v1", "x, chat.v2"}, want: "chat.v2"},
		{name: "first server choice absent", server: []string{"b", "a"}, offer: []string{"c,a"}, want: "a"},
		{name: "no common protocol", server: []string{"b", "a"}, offer: []string{"c, d"}},
		{name: "no offer", server: []string{"a"}},
		{name: "server speaks none", offer: []string{"a"}},
		{name: "prefix is not a match", server: []string{"chat"}, offer: []string{"chat.v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hsStartUpgrader(t, &Upgrader{Subprotocols: tt.server}, nil)
			var add []string
			for _, line := range tt.offer {
				add = append(add, "Sec-WebSocket-Protocol: "+line)
			}
			c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, nil, add...)))
			hsWantSwitched(t, c, testKey)
			if tt.want == "" {
				assert.Empty(t, c.resp.Header.Values("Sec-WebSocket-Protocol"))
			} else {
				assert.Equal(t, []string{tt.want}, c.resp.Header.Values("Sec-WebSocket-Protocol"))
			}
			conn := hsWantUpgraded(t, s, c)
			assert.Equal(t, tt.want, conn.Subprotocol())
		})
	}
}

// TestHandshakeResponseHeader checks the headers the application adds to
// the 101 response: they are written, but they cannot replace the
// handshake's own headers or split the response.
func TestHandshakeResponseHeader(t *testing.T) {
	t.Run("Set-Cookie", func(t *testing.T) {
		h := http.Header{}
		h.Add("Set-Cookie", "session=abc; Path=/; HttpOnly")
		h.Add("Set-Cookie", "theme=dark")
		h.Set("X-Request-Id", "42")
		s := hsStartUpgrader(t, nil, h)
		c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, nil)))
		hsWantSwitched(t, c, testKey)
		assert.Equal(t, []string{"session=abc; Path=/; HttpOnly", "theme=dark"}, c.resp.Header.Values("Set-Cookie"))
		assert.Equal(t, []string{"42"}, c.resp.Header.Values("X-Request-Id"))
		hsWantUpgraded(t, s, c)
	})

	t.Run("handshake headers cannot be overridden", func(t *testing.T) {
		h := http.Header{
			"Sec-WebSocket-Accept":   {"bogus"},
			"sec-websocket-accept":   {"bogus too"}, // not canonical
			"Upgrade":                {"h2c"},
			"Connection":             {"close"},
			"Sec-WebSocket-Protocol": {"evil"},
		}
		s := hsStartUpgrader(t, &Upgrader{Subprotocols: []string{"a"}}, h)
		c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, nil, "Sec-WebSocket-Protocol: a")))
		hsWantSwitched(t, c, testKey)
		assert.Equal(t, []string{hsWantAccept(testKey)}, c.resp.Header.Values("Sec-WebSocket-Accept"))
		assert.Equal(t, []string{"websocket"}, c.resp.Header.Values("Upgrade"))
		assert.Equal(t, []string{"Upgrade"}, c.resp.Header.Values("Connection"))
		assert.Equal(t, []string{"a"}, c.resp.Header.Values("Sec-WebSocket-Protocol"))
		hsWantUpgraded(t, s, c)
	})

	t.Run("Sec-WebSocket-Protocol without a chosen protocol", func(t *testing.T) {
		s := hsStartUpgrader(t, nil, http.Header{"Sec-Websocket-Protocol": {"evil"}})
		c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, nil, "Sec-WebSocket-Protocol: evil")))
		hsWantSwitched(t, c, testKey)
		assert.Empty(t, c.resp.Header.Values("Sec-WebSocket-Protocol"))
		conn := hsWantUpgraded(t, s, c)
		assert.Empty(t, conn.Subprotocol())
	})

	t.Run("no response splitting", func(t *testing.T) {
		h := http.Header{
			"X-Evil":              {"a\r\nX-Injected: yes"},
			"X-Evil-Lf":           {"a\nX-Injected-Lf: yes"},
			"X-Bad\r\nX-Injected": {"name"},
			"X-Fine":              {"ok"},
		}
		s := hsStartUpgrader(t, nil, h)
		c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, nil)))
		hsWantSwitched(t, c, testKey)
		assert.Equal(t, []string{"ok"}, c.resp.Header.Values("X-Fine"))
		for _, name := range []string{"X-Evil", "X-Evil-Lf", "X-Injected", "X-Injected-Lf", "X-Bad"} {
			assert.Empty(t, c.resp.Header.Values(name), "header %s", name)
		}
		// The response ended where it should: the next bytes are frames.
		hsWantUpgraded(t, s, c)
	})
}

// TestHandshakeBytesBehindRequest sends a frame in the same write as the
// request: the HTTP server reads it into its buffer with the request, and
// it must still be the first message the Conn reads.
func TestHandshakeBytesBehindRequest(t *testing.T) {
	s := hsStartUpgrader(t, nil, nil)
	framer := &peer{key: hsPeerKey}
	raw := []byte(hsRequest(http.MethodGet, "1.1", s.addr, nil))
	raw = append(raw, framer.frame(fin|wText, []byte("early bird"))...)
	raw = append(raw, framer.frame(wBinary, []byte("frag"))...)
	raw = append(raw, framer.frame(fin|wCont, []byte("ment"))...)
	c := rawHandshake(t, s.addr, raw)
	hsWantSwitched(t, c, testKey)

	o := s.outcome(t)
	require.NoError(t, o.err)
	require.NoError(t, o.conn.SetReadDeadline(time.Now().Add(wireTimeout)))
	typ, msg, err := o.conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, TextMessage, typ)
	assert.Equal(t, "early bird", string(msg))
	typ, msg, err = o.conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, BinaryMessage, typ)
	assert.Equal(t, "fragment", string(msg))

	// And after the buffered bytes, the Conn reads from the socket.
	p := c.peer(t)
	p.send(fin|wText, []byte("later"))
	_, msg, err = o.conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "later", string(msg))
}

// hsUnwrapWriter is middleware's ResponseWriter: it hides the Hijacker of
// the writer it wraps but offers it through Unwrap, for
// http.ResponseController.
type hsUnwrapWriter struct {
	http.ResponseWriter
}

func (w *hsUnwrapWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestHandshakeWrappedResponseWriter upgrades through a wrapper that is not
// an http.Hijacker itself.
func TestHandshakeWrappedResponseWriter(t *testing.T) {
	var wrapped http.ResponseWriter = &hsUnwrapWriter{}
	_, isHijacker := wrapped.(http.Hijacker)
	require.False(t, isHijacker, "the wrapper must not be a Hijacker itself")

	s := hsStart(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
		var u Upgrader
		return u.Upgrade(&hsUnwrapWriter{ResponseWriter: w}, r, nil)
	})
	c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, nil)))
	hsWantSwitched(t, c, testKey)
	hsWantUpgraded(t, s, c)
}

// hsValidRequest is a valid handshake request for a ResponseRecorder.
func hsValidRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/chat", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", testKey)
	r.Header.Set("Sec-WebSocket-Version", "13")
	return r
}

// TestHandshakeMisuse checks that Upgrade returns errors, and does not
// panic, when it cannot work.
func TestHandshakeMisuse(t *testing.T) {
	t.Run("cannot hijack", func(t *testing.T) {
		rec := httptest.NewRecorder()
		var u Upgrader
		c, err := u.Upgrade(rec, hsValidRequest(), nil)
		require.Error(t, err)
		assert.True(t, c == nil, "Upgrade returned a Conn")
		assert.ErrorIs(t, err, http.ErrNotSupported)
		assert.Equal(t, http.StatusInternalServerError, rec.Code)
	})

	t.Run("refused before any hijack", func(t *testing.T) {
		rec := httptest.NewRecorder()
		r := hsValidRequest()
		r.Header.Del("Sec-WebSocket-Key")
		c, err := (&Upgrader{}).Upgrade(rec, r, nil)
		assert.True(t, c == nil, "Upgrade returned a Conn")
		assert.ErrorIs(t, err, ErrBadHandshake)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
	})

	t.Run("nil arguments", func(t *testing.T) {
		var u Upgrader
		var c *Conn
		var err error
		require.NotPanics(t, func() { c, err = u.Upgrade(nil, nil, nil) })
		assert.True(t, c == nil, "Upgrade returned a Conn")
		assert.Error(t, err)
		require.NotPanics(t, func() { c, err = u.Upgrade(nil, hsValidRequest(), nil) })
		assert.True(t, c == nil, "Upgrade returned a Conn")
		assert.Error(t, err)
		rec := httptest.NewRecorder()
		require.NotPanics(t, func() { c, err = u.Upgrade(rec, nil, nil) })
		assert.True(t, c == nil, "Upgrade returned a Conn")
		assert.Error(t, err)
	})

	t.Run("nil Upgrader", func(t *testing.T) {
		var u *Upgrader
		rec := httptest.NewRecorder()
		var err error
		require.NotPanics(t, func() { _, err = u.Upgrade(rec, hsValidRequest(), nil) })
		assert.Error(t, err, "a recorder cannot be hijacked")

		s := hsStartUpgrader(t, u, nil)
		c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, nil)))
		hsWantSwitched(t, c, testKey)
		conn := hsWantUpgraded(t, s, c)
		assert.Empty(t, conn.Subprotocol())
	})
}

// TestHandshakeAddrs checks that the Conn reports the two ends of its TCP
// connection.
func TestHandshakeAddrs(t *testing.T) {
	s := hsStartUpgrader(t, nil, nil)
	c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, nil)))
	hsWantSwitched(t, c, testKey)
	conn := hsWantUpgraded(t, s, c)

	assert.Equal(t, c.conn.LocalAddr().String(), conn.RemoteAddr().String())
	assert.Equal(t, c.conn.RemoteAddr().String(), conn.LocalAddr().String())
	assert.Equal(t, s.addr, conn.LocalAddr().String())
	for _, a := range []net.Addr{conn.RemoteAddr(), conn.LocalAddr()} {
		tcp, ok := a.(*net.TCPAddr)
		if assert.True(t, ok, "%T is not a *net.TCPAddr", a) {
			assert.True(t, tcp.IP.IsLoopback(), "%v is not loopback", tcp)
		}
		assert.Equal(t, "tcp", a.Network())
	}
}

// TestHandshakeClearsServerDeadlines upgrades on an http.Server with read
// and write timeouts: a WebSocket outlives them, as the deadline setters'
// docs promise no deadline until one is set. (net/http clears its
// deadlines when the connection is hijacked; Upgrade sets and clears its
// own for the response. The close timer relies on both.)
func TestHandshakeClearsServerDeadlines(t *testing.T) {
	const serverTimeout = 50 * time.Millisecond
	conns := make(chan *Conn, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		t.Cleanup(func() { _ = c.Terminate() })
		conns <- c
	}))
	srv.Config.ReadTimeout = serverTimeout
	srv.Config.WriteTimeout = serverTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	p := dial(t, srv.Listener.Addr().String(), nil)
	var c *Conn
	select {
	case c = <-conns:
	case <-time.After(wireTimeout):
		t.Fatal("the server did not upgrade the connection")
	}

	// Outlast both timeouts: the condition under test, not a wait for
	// another goroutine.
	time.Sleep(2 * serverTimeout)
	p.send(fin|wText, []byte("still here"))
	typ, msg, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, TextMessage, typ)
	assert.Equal(t, "still here", string(msg))
	require.NoError(t, c.WriteMessage(TextMessage, msg))
	p.wantFrame(fin|wText, "still here")
}

// TestHandshakeErrorHook: an Upgrader's Error writes the refusal, with the
// status and the error Upgrade returns, and the headers the status calls
// for already set.
func TestHandshakeErrorHook(t *testing.T) {
	u := &Upgrader{Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":"`+strings.ReplaceAll(reason.Error(), `"`, `'`)+`"}`)
	}}
	s := hsStartUpgrader(t, u, nil)
	c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.1", s.addr, []string{"Sec-WebSocket-Version"}, "Sec-WebSocket-Version: 8")))
	assert.Equal(t, http.StatusUpgradeRequired, c.resp.StatusCode)
	assert.Equal(t, "application/json", c.resp.Header.Get("Content-Type"))
	assert.Equal(t, []string{"13"}, c.resp.Header.Values("Sec-WebSocket-Version"))
	assert.Contains(t, c.body, `{"error":"websocket: bad handshake: unsupported Sec-WebSocket-Version`)
	o := s.outcome(t)
	assert.ErrorIs(t, o.err, ErrBadHandshake)
}
