package websocket

import (
	"bufio"
	"bytes"
	"crypto/sha1"
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
	"golang.org/x/net/http/httpguts"
)

// These tests play the client of the opening handshake (RFC 6455 section
// 4.2) by hand: each request is text written by the test on a raw TCP
// connection to a real server on 127.0.0.1, so the test chooses every
// header, and the response is parsed with http.ReadResponse.

// hsGUID is the GUID of RFC 6455 section 1.3, written out here so that the
// expected Sec-WebSocket-Accept values do not depend on the library.
const hsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// hsWantAccept computes Sec-WebSocket-Accept for key (section 4.2.2).
func hsWantAccept(key string) string {
	h := sha1.New()
	_, _ = io.WriteString(h, key+hsGUID)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// hsKey is a Sec-WebSocket-Key made of n copies of b.
func hsKey(b byte, n int) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n))
}

// hsOutcome is what one call of Upgrade returned.
type hsOutcome struct {
	conn *Conn
	err  error
}

// hsServer is a server on 127.0.0.1 whose handler upgrades each request
// and reports the outcome to the test.
type hsServer struct {
	addr     string
	outcomes chan hsOutcome
}

// hsStart starts a server whose handler calls upgrade. A Conn it returns is
// terminated when the test ends.
func hsStart(t *testing.T, upgrade func(w http.ResponseWriter, r *http.Request) (*Conn, error)) *hsServer {
	t.Helper()
	s := &hsServer{outcomes: make(chan hsOutcome, 4)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrade(w, r)
		if c != nil {
			t.Cleanup(func() { _ = c.Terminate() })
		}
		s.outcomes <- hsOutcome{conn: c, err: err}
	}))
	t.Cleanup(srv.Close)
	s.addr = srv.Listener.Addr().String()
	return s
}

// hsStartUpgrader starts a server that calls u.Upgrade with responseHeader.
func hsStartUpgrader(t *testing.T, u *Upgrader, responseHeader http.Header) *hsServer {
	t.Helper()
	return hsStart(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
		return u.Upgrade(w, r, responseHeader)
	})
}

// outcome waits for the handler's next call of Upgrade.
func (s *hsServer) outcome(t *testing.T) hsOutcome {
	t.Helper()
	select {
	case o := <-s.outcomes:
		return o
	case <-time.After(wireTimeout):
		t.Fatal("the handler did not run")
		return hsOutcome{}
	}
}

// hsValidHeaders are the header lines of a valid handshake request, other
// than Host.
func hsValidHeaders() []string {
	return []string{
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Key: " + testKey,
		"Sec-WebSocket-Version: 13",
	}
}

// hsRequest writes a request by hand: the request line, Host, the valid
// handshake headers except those named in drop, then the lines of add.
// "{host}" in a line of add stands for host.
func hsRequest(method, proto, host string, drop []string, add ...string) string {
	var b strings.Builder
	b.WriteString(method + " /chat HTTP/" + proto + "\r\nHost: " + host + "\r\n")
	for _, line := range hsValidHeaders() {
		name, _, _ := strings.Cut(line, ":")
		dropped := false
		for _, d := range drop {
			dropped = dropped || strings.EqualFold(d, name)
		}
		if !dropped {
			b.WriteString(line + "\r\n")
		}
	}
	for _, line := range add {
		b.WriteString(strings.ReplaceAll(line, "{host}", host) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// hsClient is the raw client end of one request.
type hsClient struct {
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
	body string
}

// rawHandshake dials addr, writes raw in a single write and reads the
// response.
func rawHandshake(t *testing.T, addr string, raw []byte) *hsClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(wireTimeout))
	_, err = conn.Write(raw)
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return &hsClient{conn: conn, br: br, resp: resp, body: string(body)}
}

// hsPeerKey masks the frames the tests send.
var hsPeerKey = [4]byte{0x0b, 0xad, 0xf0, 0x0d}

// peer returns the client as a peer of wire_test.go, for frames.
func (c *hsClient) peer(t *testing.T) *peer {
	return &peer{t: t, conn: c.conn, br: c.br, key: hsPeerKey}
}

// hsWantSwitched checks that the response is a valid 101 for key.
func hsWantSwitched(t *testing.T, c *hsClient, key string) {
	t.Helper()
	require.Equal(t, http.StatusSwitchingProtocols, c.resp.StatusCode, "body: %q", c.body)
	assert.Equal(t, []string{hsWantAccept(key)}, c.resp.Header.Values("Sec-WebSocket-Accept"))
	assert.True(t, httpguts.HeaderValuesContainsToken(c.resp.Header.Values("Upgrade"), "websocket"),
		"Upgrade: %q", c.resp.Header.Values("Upgrade"))
	assert.True(t, httpguts.HeaderValuesContainsToken(c.resp.Header.Values("Connection"), "upgrade"),
		"Connection: %q", c.resp.Header.Values("Connection"))
}

// hsWantUpgraded checks that the handler got a Conn and that it carries
// messages both ways.
func hsWantUpgraded(t *testing.T, s *hsServer, c *hsClient) *Conn {
	t.Helper()
	o := s.outcome(t)
	require.NoError(t, o.err)
	require.NotNil(t, o.conn)
	p := c.peer(t)
	require.NoError(t, o.conn.SetReadDeadline(time.Now().Add(wireTimeout)))
	p.send(fin|wText, []byte("hello"))
	typ, msg, err := o.conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, TextMessage, typ)
	assert.Equal(t, "hello", string(msg))
	require.NoError(t, o.conn.WriteMessage(BinaryMessage, []byte("back")))
	p.wantFrame(fin|wBinary, "back")
	return o.conn
}

// TestHandshakeRefused sends requests that are not valid handshakes: each
// gets its HTTP error status, the header that goes with it, and Upgrade
// returns an error wrapping ErrBadHandshake that says why.
func TestHandshakeRefused(t *testing.T) {
	tests := []struct {
		name     string
		method   string   // GET when empty
		drop     []string // valid headers left out
		add      []string // header lines added
		body     string   // sent after the request's head
		upgrader *Upgrader
		status   int
		header   string // a response header that must be present...
		value    string // ...with this value
		why      string // in the error message and the body
	}{
		{
			name:   "POST",
			method: http.MethodPost,
			add:    []string{"Content-Length: 0"},
			status: http.StatusMethodNotAllowed,
			header: "Allow", value: http.MethodGet,
			why: "GET",
		},
		{
			name:   "no Upgrade",
			drop:   []string{"Upgrade"},
			status: http.StatusBadRequest,
			why:    "Upgrade header",
		},
		{
			name:   "Upgrade names another protocol",
			drop:   []string{"Upgrade"},
			add:    []string{"Upgrade: h2c"},
			status: http.StatusBadRequest,
			why:    "Upgrade header",
		},
		{
			name:   "garbled Upgrade",
			drop:   []string{"Upgrade"},
			add:    []string{"Upgrade: websocketx"},
			status: http.StatusBadRequest,
			why:    "Upgrade header",
		},
		{
			name:   "Upgrade with a space",
			drop:   []string{"Upgrade"},
			add:    []string{"Upgrade: web socket"},
			status: http.StatusBadRequest,
			why:    "Upgrade header",
		},
		{
			name:   "no Connection",
			drop:   []string{"Connection"},
			status: http.StatusBadRequest,
			why:    "Connection header",
		},
		{
			name:   "Connection without upgrade",
			drop:   []string{"Connection"},
			add:    []string{"Connection: keep-alive"},
			status: http.StatusBadRequest,
			why:    "Connection header",
		},
		{
			name:   "Connection with a longer token",
			drop:   []string{"Connection"},
			add:    []string{"Connection: keep-alive, upgraded"},
			status: http.StatusBadRequest,
			why:    "Connection header",
		},
		{
			name:   "version 8",
			drop:   []string{"Sec-WebSocket-Version"},
			add:    []string{"Sec-WebSocket-Version: 8"},
			status: http.StatusUpgradeRequired,
			header: "Sec-WebSocket-Version", value: "13",
			why: "Sec-WebSocket-Version",
		},
		{
			name:   "no version",
			drop:   []string{"Sec-WebSocket-Version"},
			status: http.StatusUpgradeRequired,
			header: "Sec-WebSocket-Version", value: "13",
			why: "Sec-WebSocket-Version",
		},
		{
			name:   "no key",
			drop:   []string{"Sec-WebSocket-Key"},
			status: http.StatusBadRequest,
			why:    "Sec-WebSocket-Key",
		},
		{
			name:   "key not base64",
			drop:   []string{"Sec-WebSocket-Key"},
			add:    []string{"Sec-WebSocket-Key: not base64 at all!"},
			status: http.StatusBadRequest,
			why:    "Sec-WebSocket-Key",
		},
		{
			name:   "key in the URL-safe alphabet",
			drop:   []string{"Sec-WebSocket-Key"},
			add:    []string{"Sec-WebSocket-Key: " + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 16))},
			status: http.StatusBadRequest,
			why:    "Sec-WebSocket-Key",
		},
		{
			name:   "key of 15 bytes",
			drop:   []string{"Sec-WebSocket-Key"},
			add:    []string{"Sec-WebSocket-Key: " + hsKey(0x41, 15)},
			status: http.StatusBadRequest,
			why:    "Sec-WebSocket-Key",
		},
		{
			name:   "key of 17 bytes",
			drop:   []string{"Sec-WebSocket-Key"},
			add:    []string{"Sec-WebSocket-Key: " + hsKey(0x41, 17)},
			status: http.StatusBadRequest,
			why:    "Sec-WebSocket-Key",
		},
		{
			name:   "two keys",
			add:    []string{"Sec-WebSocket-Key: " + hsKey(0x42, 16)},
			status: http.StatusBadRequest,
			why:    "one Sec-WebSocket-Key",
		},
		{
			name:   "cross origin",
			add:    []string{"Origin: http://evil.example"},
			status: http.StatusForbidden,
			why:    "origin",
		},
		{
			name:   "same host on another port",
			add:    []string{"Origin: http://127.0.0.1:1"},
			status: http.StatusForbidden,
			why:    "origin",
		},
		{
			name:   "two origins",
			add:    []string{"Origin: http://{host}", "Origin: http://evil.example"},
			status: http.StatusForbidden,
			why:    "origin",
		},
		{
			name:   "a body by Content-Length",
			add:    []string{"Content-Length: 5"},
			body:   "hello",
			status: http.StatusBadRequest,
			why:    "body",
		},
		{
			name:   "a chunked body",
			add:    []string{"Transfer-Encoding: chunked"},
			body:   "5\r\nhello\r\n0\r\n\r\n",
			status: http.StatusBadRequest,
			why:    "body",
		},
		{
			name:     "CheckOrigin says no",
			add:      []string{"Origin: http://{host}"},
			upgrader: &Upgrader{CheckOrigin: func(*http.Request) bool { return false }},
			status:   http.StatusForbidden,
			why:      "origin",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hsStartUpgrader(t, tt.upgrader, nil)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			c := rawHandshake(t, s.addr, []byte(hsRequest(method, "1.1", s.addr, tt.drop, tt.add...)+tt.body))

			assert.Equal(t, tt.status, c.resp.StatusCode, "body: %q", c.body)
			if tt.header != "" {
				assert.Equal(t, []string{tt.value}, c.resp.Header.Values(tt.header), "response header %s", tt.header)
			}
			assert.Empty(t, c.resp.Header.Values("Sec-WebSocket-Accept"))
			assert.Contains(t, c.body, tt.why)

			o := s.outcome(t)
			assert.True(t, o.conn == nil, "Upgrade returned a Conn")
			require.Error(t, o.err)
			assert.ErrorIs(t, o.err, ErrBadHandshake)
			assert.Contains(t, o.err.Error(), tt.why)
			var he *handshakeError
			if assert.ErrorAs(t, o.err, &he) {
				assert.Equal(t, tt.status, he.status)
			}
		})
	}
}

// TestHandshakeRefusesHTTP10: section 4.2.1 wants "an HTTP/1.1 or higher
// GET request", and a server that gets anything else MUST stop and answer
// with an HTTP error such as 400.
func TestHandshakeRefusesHTTP10(t *testing.T) {
	s := hsStartUpgrader(t, nil, nil)
	c := rawHandshake(t, s.addr, []byte(hsRequest(http.MethodGet, "1.0", s.addr, nil)))
	o := s.outcome(t)
	assert.True(t, o.conn == nil, "an HTTP/1.0 request was upgraded")
	assert.ErrorIs(t, o.err, ErrBadHandshake)
	assert.NotEqual(t, http.StatusSwitchingProtocols, c.resp.StatusCode)
	assert.Equal(t, http.StatusBadRequest, c.resp.StatusCode)
}

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
