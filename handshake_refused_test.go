package websocket

// Requests that are not a valid opening handshake, and what each gets.

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
