package websocket

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file tests the client's opening handshake against a raw TCP server
// on 127.0.0.1 that answers each way a server can be wrong.

// rawHTTPServer accepts connections on 127.0.0.1, reads one request from
// each and writes respond's answer. Requests go to reqs; the connections
// stay open until the test ends.
type rawHTTPServer struct {
	url  string
	reqs chan *http.Request
	wg   sync.WaitGroup
}

func startRawHTTPServer(t *testing.T, respond func(req *http.Request) string) *rawHTTPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &rawHTTPServer{url: "ws://" + ln.Addr().String() + "/chat", reqs: make(chan *http.Request, 16)}
	var mu sync.Mutex
	var conns []net.Conn
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			req, err := http.ReadRequest(bufio.NewReader(conn))
			if err != nil {
				continue
			}
			s.reqs <- req
			_, _ = io.WriteString(conn, respond(req))
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return s
}

// switching is a valid 101 answer to req, with extra header lines.
func switching(req *http.Request, extra ...string) string {
	s := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n"
	for _, line := range extra {
		s += line + "\r\n"
	}
	return s + "\r\n"
}

// TestDialRefusesBadResponses: every answer that breaks RFC 6455 section
// 4.1 or refuses fails the dial with an error wrapping ErrBadHandshake
// that says why, and the response is returned.
func TestDialRefusesBadResponses(t *testing.T) {
	deflate := &Dialer{Compression: CompressionContextTakeover}
	tests := []struct {
		name    string
		dialer  *Dialer
		respond func(*http.Request) string
		want    string // in the error
		status  int
	}{
		{"wrong accept", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(testKey) + "\r\n\r\n"
		}, "Sec-WebSocket-Accept does not answer", 101},
		{"no accept", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		}, "Sec-WebSocket-Accept does not answer", 101},
		{"no Upgrade", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}, "Upgrade header does not name websocket", 101},
		{"Upgrade not websocket", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}, "Upgrade header does not name websocket", 101},
		{"no Connection", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + acceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}, "Connection header does not name upgrade", 101},
		{"status 200", nil, func(*http.Request) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
		}, "answered HTTP 200 OK, not 101", 200},
		{"subprotocol not offered", &Dialer{Subprotocols: []string{"chat"}}, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Protocol: superchat")
		}, `chose subprotocol "superchat", which was not offered`, 101},
		{"subprotocol when none offered", nil, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Protocol: chat")
		}, `chose subprotocol "chat"`, 101},
		{"two subprotocols", &Dialer{Subprotocols: []string{"a", "b"}}, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: b")
		}, "more than one subprotocol", 101},
		{"extension not offered", nil, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate")
		}, `extension "permessage-deflate", which was not offered`, 101},
		{"unknown extension", deflate, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: x-webkit-deflate-frame")
		}, `extension "x-webkit-deflate-frame", which was not offered`, 101},
		{"deflate twice", deflate, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate")
		}, "permessage-deflate twice", 101},
		{"deflate unknown parameter", deflate, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; x=1")
		}, `unknown parameter "x"`, 101},
		{"deflate parameter twice", deflate, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_no_context_takeover")
		}, "server_no_context_takeover given twice", 101},
		{"deflate parameter with a value", deflate, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover=1")
		}, "client_no_context_takeover has a value", 101},
		{"client window out of range", deflate, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7")
		}, "client_max_window_bits=\"7\" is not 8 to 15", 101},
		{"client window without a value", deflate, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
		}, "client_max_window_bits=\"\" is not 8 to 15", 101},
		{"server window out of range", deflate, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7")
		}, `server_max_window_bits="7" is not 8 to 15`, 101},
		{"server window without a value", deflate, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits")
		}, "server_max_window_bits", 101},
		{"redirect", nil, func(*http.Request) string {
			return "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n"
		}, "redirects to ws://127.0.0.1:1/elsewhere (HTTP 302); Dial does not follow redirects", 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startRawHTTPServer(t, tt.respond)
			c, resp, err := tt.dialer.DialContext(context.Background(), s.url, nil)
			require.ErrorIs(t, err, ErrBadHandshake)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
			require.NotNil(t, resp, "the response comes with the error")
			assert.Equal(t, tt.status, resp.StatusCode)
		})
	}
}

// TestDialRefusalBody: the body of a refusal stays readable from the
// returned response, cut at 1 KiB.
func TestDialRefusalBody(t *testing.T) {
	body := strings.Repeat("forbidden, ", 500)
	s := startRawHTTPServer(t, func(*http.Request) string {
		return "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body
	})
	_, resp, err := Dial(context.Background(), s.url, nil)
	require.ErrorIs(t, err, ErrBadHandshake)
	assert.Contains(t, err.Error(), "HTTP 403 Forbidden")
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, body[:maxErrorBody], string(got))
}

// TestDialAcceptsResponses: answers RFC 6455 allows, with their
// negotiated results.
func TestDialAcceptsResponses(t *testing.T) {
	tests := []struct {
		name    string
		dialer  *Dialer
		respond func(*http.Request) string
		proto   string
		deflate *deflateParams
	}{
		{"tokens in any case", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, UPGRADE\r\nSec-WebSocket-Accept: " + acceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}, "", nil},
		{"offered subprotocol", &Dialer{Subprotocols: []string{"v2", "v1"}}, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Protocol: v1")
		}, "v1", nil},
		{"no subprotocol chosen", &Dialer{Subprotocols: []string{"v2"}}, func(r *http.Request) string {
			return switching(r)
		}, "", nil},
		{"compression declined", &Dialer{Compression: CompressionContextTakeover}, func(r *http.Request) string {
			return switching(r)
		}, "", nil},
		{"context takeover both ways", &Dialer{Compression: CompressionContextTakeover}, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate")
		}, "", &deflateParams{}},
		{"the server resets, asks us to", &Dialer{Compression: CompressionContextTakeover}, func(r *http.Request) string {
			return switching(r, `Sec-WebSocket-Extensions: Permessage-Deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits="10"; client_max_window_bits=15`)
		}, "", &deflateParams{localNoContext: true, peerNoContext: true}},
		{"no context takeover kept without the server's word", &Dialer{Compression: CompressionNoContextTakeover}, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover")
		}, "", &deflateParams{localNoContext: true, peerNoContext: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startRawHTTPServer(t, tt.respond)
			c, resp, err := tt.dialer.DialContext(context.Background(), s.url, nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Terminate() })
			assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			assert.Equal(t, tt.proto, c.Subprotocol())
			assert.Equal(t, roleClient, c.role)
			if tt.deflate == nil {
				assert.Nil(t, c.deflate)
			} else {
				assert.NotNil(t, c.deflate)
				assert.Equal(t, *tt.deflate, c.deflate.params)
			}
		})
	}
}

// TestDialRequest: what the client sends, for each option.
func TestDialRequest(t *testing.T) {
	s := startRawHTTPServer(t, func(r *http.Request) string { return switching(r) })
	keys := map[string]bool{}
	for _, mode := range []CompressionMode{CompressionDisabled, CompressionNoContextTakeover, CompressionContextTakeover} {
		d := &Dialer{Compression: mode, Subprotocols: []string{"v2", "v1"}}
		c, _, err := d.Dial(s.url+"?room=1", http.Header{
			"Origin":       {"https://example.test"},
			"Host":         {"chat.example.test"},
			"X-Trace":      {"a", "b"},
			"Unnormalized": {"yes"},
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Terminate() })
		req := <-s.reqs
		assert.Equal(t, "GET", req.Method)
		assert.Equal(t, "/chat?room=1", req.RequestURI)
		assert.Equal(t, "HTTP/1.1", req.Proto)
		assert.Equal(t, "chat.example.test", req.Host)
		assert.Equal(t, []string{"websocket"}, req.Header["Upgrade"])
		assert.Equal(t, []string{"Upgrade"}, req.Header["Connection"])
		assert.Equal(t, []string{"13"}, req.Header["Sec-Websocket-Version"])
		assert.Equal(t, []string{"v2, v1"}, req.Header["Sec-Websocket-Protocol"])
		assert.Equal(t, []string{"https://example.test"}, req.Header["Origin"])
		assert.Equal(t, []string{"a", "b"}, req.Header["X-Trace"])
		key := req.Header.Get("Sec-WebSocket-Key")
		raw, err := base64.StdEncoding.DecodeString(key)
		require.NoError(t, err)
		assert.Len(t, raw, 16)
		assert.False(t, keys[key], "a fresh key for every dial")
		keys[key] = true
		switch mode {
		case CompressionDisabled:
			assert.Empty(t, req.Header["Sec-Websocket-Extensions"])
		case CompressionNoContextTakeover:
			assert.Equal(t, []string{"permessage-deflate; client_no_context_takeover; server_no_context_takeover; client_max_window_bits"}, req.Header["Sec-Websocket-Extensions"])
		case CompressionContextTakeover:
			assert.Equal(t, []string{"permessage-deflate; client_max_window_bits"}, req.Header["Sec-Websocket-Extensions"])
		}
	}
	// Credentials in the URL become basic authorization, and stay out
	// of the request line.
	c, _, err := Dial(context.Background(), strings.Replace(s.url, "ws://", "ws://alice:pw@", 1), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Terminate() })
	req := <-s.reqs
	user, pass, ok := req.BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, "alice:pw", user+":"+pass)
	assert.Equal(t, "/chat", req.RequestURI)

	// Subprotocols may come from the header instead.
	c, _, err = Dial(context.Background(), s.url, http.Header{"Sec-WebSocket-Protocol": {"x, y"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Terminate() })
	assert.Equal(t, []string{"x, y"}, (<-s.reqs).Header["Sec-Websocket-Protocol"])
}

// TestDialBadArguments: what Dial refuses before it connects, with an
// error that says why.
func TestDialBadArguments(t *testing.T) {
	tests := []struct {
		name   string
		dialer *Dialer
		url    string
		header http.Header
		want   string
	}{
		{"scheme", nil, "ftp://127.0.0.1/", nil, `scheme must be ws or wss, not "ftp"`},
		{"no host", nil, "ws:///path", nil, "has no host"},
		{"fragment", nil, "ws://127.0.0.1/#top", nil, "may not have a fragment"},
		{"unparsable", nil, "ws://127.0.0.1:port/", nil, "invalid port"},
		{"Upgrade", nil, "ws://127.0.0.1/", http.Header{"Upgrade": {"h2c"}}, "may not set Upgrade"},
		{"Connection", nil, "ws://127.0.0.1/", http.Header{"connection": {"close"}}, "may not set Connection"},
		{"key", nil, "ws://127.0.0.1/", http.Header{"Sec-WebSocket-Key": {testKey}}, "may not set Sec-Websocket-Key"},
		{"version", nil, "ws://127.0.0.1/", http.Header{"Sec-WebSocket-Version": {"8"}}, "may not set Sec-Websocket-Version"},
		{"extensions", nil, "ws://127.0.0.1/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}}, "may not set Sec-Websocket-Extensions"},
		{"protocol twice", &Dialer{Subprotocols: []string{"a"}}, "ws://127.0.0.1/", http.Header{"Sec-WebSocket-Protocol": {"b"}}, "both in the request header and in Dialer.Subprotocols"},
		{"header injection", nil, "ws://127.0.0.1/", http.Header{"X-A": {"1\r\nX-B: 2"}}, "X-A has an invalid value"},
		{"bad header name", nil, "ws://127.0.0.1/", http.Header{"X A": {"1"}}, `name "X A" is not valid`},
		{"bad subprotocol", &Dialer{Subprotocols: []string{"a b"}}, "ws://127.0.0.1/", nil, `subprotocol "a b" is not an HTTP token`},
		{"compression mode", &Dialer{Compression: 7}, "ws://127.0.0.1/", nil, "unknown CompressionMode 7"},
		{"nil connection", &Dialer{NetDialContext: func(context.Context, string, string) (net.Conn, error) { return nil, nil }}, "ws://127.0.0.1:1/", nil, "NetDialContext returned neither a connection nor an error"},
		{"proxy scheme", &Dialer{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse("socks5://127.0.0.1:1080") }}, "ws://127.0.0.1:1/", nil, `proxy scheme "socks5" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := tt.dialer.DialContext(context.Background(), tt.url, tt.header)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Nil(t, c)
			assert.Nil(t, resp)
		})
	}
	//nolint:staticcheck // a nil Context is the misuse under test
	_, _, err := Dial(nil, "ws://127.0.0.1/", nil)
	assert.ErrorContains(t, err, "nil Context")
}

// TestDialBytesBehindResponse: frames the server sends in the same write
// as its 101 are the first the Conn reads; a masked one fails the
// connection with 1002.
func TestDialBytesBehindResponse(t *testing.T) {
	t.Run("unmasked", func(t *testing.T) {
		s := startRawHTTPServer(t, func(r *http.Request) string {
			return switching(r) + string(serverFrameBytes(fin|wText, []byte("first")))
		})
		c, _, err := Dial(context.Background(), s.url, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Terminate() })
		typ, msg, err := c.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, TextMessage, typ)
		assert.Equal(t, "first", string(msg))
	})
	t.Run("masked", func(t *testing.T) {
		p := &peer{key: [4]byte{1, 2, 3, 4}}
		s := startRawHTTPServer(t, func(r *http.Request) string {
			return switching(r) + string(p.frame(fin|wText, []byte("masked")))
		})
		// The server never closes TCP: the linger after the failure ends
		// at the close timeout.
		d := &Dialer{CloseTimeout: 50 * time.Millisecond}
		c, _, err := d.Dial(s.url, nil)
		require.NoError(t, err)
		_, _, err = c.ReadMessage()
		require.ErrorIs(t, err, ErrProtocol)
		<-c.Done()
		assert.ErrorIs(t, c.CloseEvent().Err, ErrProtocol)
	})
}
