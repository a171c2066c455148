package websocket

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The client's opening handshake (RFC 6455 section 4.1): the request a
// Dialer sends, and the checks of the server's answer.

// clientRequest is a handshake request and what checking its answer needs.
type clientRequest struct {
	req          *http.Request // its URL is the http or https form, for the proxy and the jar
	where        string        // the URL for error messages, without a password
	addr         string        // host:port of the server
	tls          bool
	key          string   // Sec-WebSocket-Key
	subprotocols []string // offered
}

// clientHandshakeHeaders are the request headers Dial sets itself: the
// application may not set them.
var clientHandshakeHeaders = map[string]bool{
	"Upgrade":                  true,
	"Connection":               true,
	"Sec-Websocket-Key":        true,
	"Sec-Websocket-Version":    true,
	"Sec-Websocket-Extensions": true,
}

// maxErrorBody is how much of a refusal's body the response keeps.
const maxErrorBody = 1 << 10

// newRequest checks the URL and the application's headers and builds the
// handshake request.
func (d *Dialer) newRequest(urlStr string, header http.Header) (*clientRequest, error) {
	u, err := url.Parse(urlStr)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial: %w", err)
	}
	cr := &clientRequest{where: u.Redacted()}
	port := "80"
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme, cr.tls, port = "https", true, "443"
	default:
		return nil, fmt.Errorf("websocket: dial %s: the URL scheme must be ws or wss, not %q", cr.where, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("websocket: dial %s: the URL has no host", cr.where)
	}
	if u.Fragment != "" || strings.HasSuffix(urlStr, "#") {
		// [RFC6455 3]: "Fragment identifiers ... MUST NOT be used".
		return nil, fmt.Errorf("websocket: dial %s: a WebSocket URL may not have a fragment", cr.where)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	cr.addr = net.JoinHostPort(u.Hostname(), port)
	if mode := d.Compression; mode != CompressionDisabled && int(mode) >= len(deflateOffers) {
		return nil, fmt.Errorf("websocket: dial: unknown CompressionMode %d", mode)
	}
	for _, p := range d.Subprotocols {
		if !httpguts.ValidHeaderFieldName(p) {
			return nil, fmt.Errorf("websocket: dial: subprotocol %q is not an HTTP token", p)
		}
	}

	req := &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       u.Host,
	}
	for k, vs := range header {
		ck := http.CanonicalHeaderKey(k)
		switch {
		case !httpguts.ValidHeaderFieldName(k):
			return nil, fmt.Errorf("websocket: dial: request header name %q is not valid", k)
		case clientHandshakeHeaders[ck]:
			return nil, fmt.Errorf("websocket: dial: the request header may not set %s: the handshake sets it", ck)
		case ck == "Sec-Websocket-Protocol" && len(d.Subprotocols) > 0:
			return nil, fmt.Errorf("websocket: dial: Sec-WebSocket-Protocol set both in the request header and in Dialer.Subprotocols")
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, fmt.Errorf("websocket: dial: request header %s has an invalid value", ck)
			}
		}
		switch ck {
		case "Host":
			if len(vs) > 0 {
				req.Host = vs[0]
			}
		case "Sec-Websocket-Protocol":
			req.Header["Sec-WebSocket-Protocol"] = vs
			cr.subprotocols = splitTokens(vs)
		default:
			req.Header[ck] = append(req.Header[ck], vs...)
		}
	}
	if u.User != nil && req.Header.Get("Authorization") == "" {
		password, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), password)
	}
	u.User = nil // the request line and the jar go without it

	var raw [16]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	cr.key = base64.StdEncoding.EncodeToString(raw[:])
	req.Header["Upgrade"] = []string{"websocket"}
	req.Header["Connection"] = []string{"Upgrade"}
	req.Header["Sec-WebSocket-Key"] = []string{cr.key}
	req.Header["Sec-WebSocket-Version"] = []string{"13"}
	if len(d.Subprotocols) > 0 {
		req.Header["Sec-WebSocket-Protocol"] = []string{strings.Join(d.Subprotocols, ", ")}
		cr.subprotocols = d.Subprotocols
	}
	if d.Compression != CompressionDisabled {
		req.Header["Sec-WebSocket-Extensions"] = []string{deflateOffers[d.Compression]}
	}
	if d.Jar != nil {
		for _, c := range d.Jar.Cookies(u) {
			req.AddCookie(c)
		}
	}
	cr.req = req
	return cr, nil
}

// splitTokens splits comma-separated header values into trimmed tokens.
func splitTokens(values []string) []string {
	var tokens []string
	for _, line := range values {
		for _, t := range strings.Split(line, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tokens = append(tokens, t)
			}
		}
	}
	return tokens
}

// roundTrip sends the request on conn and reads the response, keeping the
// cookies it sets in jar. It returns the bytes the server sent past the
// response: the first of the WebSocket stream. A response other than 101
// gets its body read, up to maxErrorBody, so that it stays readable once
// the connection is closed.
func (cr *clientRequest) roundTrip(conn net.Conn, jar http.CookieJar) (*http.Response, []byte, error) {
	if err := cr.req.Write(conn); err != nil {
		return nil, nil, fmt.Errorf("websocket: dial %s: writing the handshake request: %w", cr.where, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, cr.req)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial %s: reading the handshake response: %w", cr.where, err)
	}
	if jar != nil {
		if cookies := resp.Cookies(); len(cookies) > 0 {
			jar.SetCookies(cr.req.URL, cookies)
		}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil, nil
	}
	resp.Body = http.NoBody
	var pending []byte
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		pending = bytes.Clone(b)
	}
	return resp, pending, nil
}

// badHandshake is the error of a response that refuses, or breaks RFC 6455.
func (cr *clientRequest) badHandshake(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadHandshake, cr.where, fmt.Sprintf(format, args...))
}

// checkResponse applies RFC 6455 section 4.1's checks of the server's
// answer and returns the subprotocol and compression it chose.
func (cr *clientRequest) checkResponse(resp *http.Response, mode CompressionMode) (string, *deflateParams, error) {
	switch code := resp.StatusCode; {
	case code == http.StatusSwitchingProtocols:
	case code >= 300 && code < 400 && resp.Header.Get("Location") != "":
		return "", nil, cr.badHandshake("the server redirects to %s (HTTP %d); Dial does not follow redirects", resp.Header.Get("Location"), code)
	default:
		return "", nil, cr.badHandshake("the server answered HTTP %s, not 101 Switching Protocols", resp.Status)
	}
	// [RFC6455 4.1]: "If the response lacks an |Upgrade| header field or
	// the |Upgrade| header field contains a value that is not an ASCII
	// case-insensitive match for the value "websocket", the client MUST
	// _Fail the WebSocket Connection_." The same for Connection.
	if !httpguts.HeaderValuesContainsToken(resp.Header["Upgrade"], "websocket") {
		return "", nil, cr.badHandshake("the response's Upgrade header does not name websocket")
	}
	if !httpguts.HeaderValuesContainsToken(resp.Header["Connection"], "upgrade") {
		return "", nil, cr.badHandshake("the response's Connection header does not name upgrade")
	}
	if v := resp.Header.Values("Sec-Websocket-Accept"); len(v) != 1 || strings.TrimSpace(v[0]) != acceptKey(cr.key) {
		return "", nil, cr.badHandshake("Sec-WebSocket-Accept does not answer our Sec-WebSocket-Key")
	}
	return cr.checkNegotiation(resp, mode)
}

// checkNegotiation checks that the subprotocol and the extensions the
// server chose were offered, and returns them.
func (cr *clientRequest) checkNegotiation(resp *http.Response, mode CompressionMode) (string, *deflateParams, error) {
	var subprotocol string
	switch v := resp.Header.Values("Sec-Websocket-Protocol"); len(v) {
	case 0:
	case 1:
		subprotocol = strings.TrimSpace(v[0])
		if !slices.Contains(cr.subprotocols, subprotocol) {
			return "", nil, cr.badHandshake("the server chose subprotocol %q, which was not offered", subprotocol)
		}
	default:
		return "", nil, cr.badHandshake("the server chose more than one subprotocol")
	}
	deflate, err := acceptDeflate(resp.Header.Values("Sec-Websocket-Extensions"), mode)
	if err != nil {
		return "", nil, cr.badHandshake("%v", err)
	}
	return subprotocol, deflate, nil
}
