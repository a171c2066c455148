package websocket

// The opening handshake tests' servers and raw clients.

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
