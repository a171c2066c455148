package websocket

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
)

// The client's opening handshake over HTTP/2 (RFC 8441): an extended
// CONNECT sent through the application's http.RoundTripper, whose HTTP/2
// connection the WebSocket then shares with the application's requests.
// Go's HTTP/2 client sends extended CONNECT for a CONNECT request that
// carries a :protocol header, once the server's SETTINGS allow it.

// dialH2 is DialContext over the Dialer's HTTP2Transport. dialCtx bounds
// the handshake only.
func (d *Dialer) dialH2(dialCtx context.Context, cr *clientRequest) (*Conn, *http.Response, error) {
	req, s := d.newH2Request(dialCtx, cr)
	// The handshake ends the stream if the dial's context ends first;
	// afterwards the stream lives until the Conn ends.
	stop := context.AfterFunc(dialCtx, s.cancel)
	resp, err := d.HTTP2Transport.RoundTrip(req)
	if !stop() {
		if err == nil {
			_ = resp.Body.Close()
		}
		s.abandon()
		return nil, nil, fmt.Errorf("websocket: dial %s over HTTP/2: %w", cr.where, context.Cause(dialCtx))
	}
	if err != nil {
		s.abandon()
		return nil, nil, fmt.Errorf("websocket: dial %s over HTTP/2: %w", cr.where, err)
	}
	if d.Jar != nil {
		if cookies := resp.Cookies(); len(cookies) > 0 {
			d.Jar.SetCookies(cr.req.URL, cookies)
		}
	}
	subprotocol, deflate, err := cr.checkH2Response(resp, d.Compression)
	if err != nil {
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
		s.abandon()
		reason := RefusalBadResponse
		if resp.StatusCode != http.StatusOK {
			reason = RefusalStatus
		}
		d.refusedAs(cr, resp, reason, err)
		return nil, resp, err
	}
	s.body = resp.Body
	resp.Body = http.NoBody // the Conn reads it
	c := newConn(s, d.config(subprotocol, deflate))
	if d.Group != nil && !d.Group.add(c) {
		_ = c.Terminate()
		return nil, resp, fmt.Errorf("websocket: dial %s: %w: closed the new connection", cr.where, ErrShuttingDown)
	}
	return c, resp, nil
}

// newH2Request turns the HTTP/1.1 handshake request into an extended
// CONNECT (RFC 8441 section 5): no Upgrade, Connection or key; the body
// is the stream that carries our frames.
func (d *Dialer) newH2Request(dialCtx context.Context, cr *clientRequest) (*http.Request, *h2DialStream) {
	s := newH2DialStream(dialCtx)
	header := cr.req.Header.Clone()
	for _, k := range []string{"Upgrade", "Connection", "Sec-Websocket-Key"} {
		delete(header, k)
	}
	header[protocolHeader] = []string{"websocket"}
	u := *cr.req.URL
	req := (&http.Request{
		Method:        http.MethodConnect,
		URL:           &u,
		Header:        header,
		Host:          cr.req.Host,
		Body:          s.pr,
		ContentLength: -1,
	}).WithContext(httptrace.WithClientTrace(s.ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { s.setAddrs(info.Conn) },
	}))
	return req, s
}

// checkH2Response checks the server's answer to an extended CONNECT:
// 200, and a subprotocol and extensions that were offered.
func (cr *clientRequest) checkH2Response(resp *http.Response, mode CompressionMode) (string, *deflateParams, error) {
	if resp.StatusCode != http.StatusOK {
		return "", nil, cr.badHandshake("the server answered HTTP %s to the extended CONNECT, not 200", resp.Status)
	}
	if resp.ProtoMajor != 2 {
		return "", nil, cr.badHandshake("the answer came over %s, not HTTP/2", resp.Proto)
	}
	return cr.checkNegotiation(resp, mode)
}
