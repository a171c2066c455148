package websocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Dialer opens WebSocket connections (RFC 6455 section 4.1): the client's
// side of what an Upgrader does. Its zero value is ready to use, with the
// defaults given below. Dial only reads its fields, so one Dialer may
// serve any number of goroutines; change it only while it serves none.
type Dialer struct {
	// NetDialContext opens the TCP connection to the server, or to the
	// proxy. Nil uses a net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSClientConfig configures TLS for wss URLs. Nil means the zero
	// tls.Config. Dial works on a clone and never changes the caller's:
	// an empty ServerName becomes the URL's host, and NextProtos is set
	// to http/1.1, the only protocol the handshake runs on.
	TLSClientConfig *tls.Config

	// Proxy returns the proxy for a request, or a nil URL for none. Nil
	// means http.ProxyFromEnvironment, as for net/http. An http:// proxy
	// is asked to CONNECT to the server, with basic credentials from the
	// proxy URL's userinfo. Another scheme (https, socks5), from the
	// environment too, fails the dial with an error that says so.
	Proxy func(*http.Request) (*url.URL, error)

	// HTTP2Transport, when set, opens the connection as a stream of an
	// HTTP/2 connection (RFC 8441, extended CONNECT) through it, instead
	// of a TCP connection of its own: the WebSockets and requests it
	// carries to a server share one TCP connection. Use
	// golang.org/x/net/http2's Transport (AllowHTTP and a plain-TCP
	// DialTLSContext for ws://): net/http's Transport refuses the request
	// (as of Go 1.26 it rejects the :protocol header before its HTTP/2
	// code, which could send it, sees the request). The server must
	// accept extended CONNECT (Go's: see Upgrader.Upgrade), or the dial
	// fails. NetDialContext, TLSClientConfig and Proxy are the
	// transport's business then. Close sends END_STREAM after the closing
	// handshake and Terminate resets the stream (RST_STREAM, CANCEL).
	HTTP2Transport http.RoundTripper

	// HandshakeTimeout bounds the whole dial: TCP connection, proxy, TLS
	// and the opening handshake (45 s when zero; negative: only the
	// context bounds it).
	HandshakeTimeout time.Duration

	// Jar, when set, gives the request the cookies it holds for the URL
	// and keeps the cookies the response sets.
	Jar http.CookieJar

	// Subprotocols lists the subprotocols to offer, most preferred first.
	// The server chooses one or none; Conn.Subprotocol tells which. A
	// server that chooses one not offered fails the dial.
	Subprotocols []string

	// ReadLimit is the largest message, in bytes, the server may send
	// (1 MiB when zero; no limit when negative). Larger messages fail the
	// connection with StatusMessageTooBig.
	ReadLimit int64

	// CloseTimeout bounds the closing handshake, from the moment either
	// side starts it, including the wait for the server to close TCP
	// (5 s when zero or negative). See Conn.Close.
	CloseTimeout time.Duration

	// FrameTimeout bounds how long the server may keep the reader waiting
	// for the rest of a frame it has begun, as Upgrader.FrameTimeout does
	// (60 s when zero; no bound when negative).
	FrameTimeout time.Duration

	// WriteTimeout bounds every write, as Upgrader.WriteTimeout does.
	WriteTimeout time.Duration

	// PingInterval and PongTimeout run the heartbeat, as
	// Upgrader.PingInterval does. Zero means off.
	PingInterval time.Duration
	PongTimeout  time.Duration

	// Compression offers permessage-deflate (RFC 7692), and
	// CompressionThreshold is the size below which WriteMessage sends a
	// message uncompressed (128 when zero; negative compresses every
	// message). See CompressionMode for what each mode offers and holds.
	Compression          CompressionMode
	CompressionThreshold int

	// Group, when set, tracks every Conn this Dialer makes, so that
	// Group.Shutdown can close them all; while it drains, Dial fails with
	// ErrShuttingDown.
	Group *Group

	// ReadBufferSize and WriteBufferSize are the sizes, in bytes, of the
	// connection's read and write buffers, as for an Upgrader (4096 when
	// zero).
	ReadBufferSize  int
	WriteBufferSize int

	// Stats, OnEnd and Logger are as for an Upgrader. A handshake the
	// server refuses is counted with the server's status, and the reason
	// RefusalStatus, RefusalRedirect or RefusalBadResponse.
	Stats  *Stats
	OnEnd  func(ConnEnd)
	Logger *slog.Logger
}

// defaultHandshakeTimeout bounds the dial of the zero Dialer.
const defaultHandshakeTimeout = 45 * time.Second

// Dial opens a WebSocket connection to urlStr with the zero Dialer. See
// Dialer.DialContext. Safe from any number of goroutines.
func Dial(ctx context.Context, urlStr string, requestHeader http.Header) (*Conn, *http.Response, error) {
	var d Dialer
	return d.DialContext(ctx, urlStr, requestHeader)
}

// Dial is DialContext with the background context: only HandshakeTimeout
// bounds it. Safe from any number of goroutines.
func (d *Dialer) Dial(urlStr string, requestHeader http.Header) (*Conn, *http.Response, error) {
	return d.DialContext(context.Background(), urlStr, requestHeader)
}

// DialContext opens a WebSocket connection to urlStr, a ws:// or wss://
// URL (http:// and https:// are taken as their aliases; the port defaults
// to 80 and 443). requestHeader adds headers to the handshake request,
// such as Origin, Authorization or Cookie; requestHeader["Host"] replaces
// the URL's host in the Host header; Sec-WebSocket-Protocol may be set
// there instead of in Subprotocols. The headers the handshake sets itself
// (Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version,
// Sec-WebSocket-Extensions) are refused with an error.
//
// The dial, from the TCP connection to the server's answer, is bounded by
// ctx and by HandshakeTimeout; ctx does not bound the Conn afterwards.
//
// It returns the Conn and the server's response. When the server answers
// but refuses, or its answer breaks RFC 6455 section 4.1 (a status other
// than 101, a wrong Sec-WebSocket-Accept, a subprotocol or an extension
// not offered), the error wraps ErrBadHandshake and says why, and the
// response is returned too, its body the first 1 KiB of what the server
// sent. Redirects are not followed: the error names the Location. Safe
// from any number of goroutines.
func (d *Dialer) DialContext(ctx context.Context, urlStr string, requestHeader http.Header) (*Conn, *http.Response, error) {
	if d == nil {
		d = &Dialer{}
	}
	if ctx == nil {
		return nil, nil, errors.New("websocket: dial: nil Context")
	}
	cr, err := d.newRequest(urlStr, requestHeader)
	if err != nil {
		return nil, nil, err
	}
	if d.Group != nil && d.Group.isDraining() {
		return nil, nil, fmt.Errorf("websocket: dial %s: %w", cr.where, ErrShuttingDown)
	}
	timeout := d.HandshakeTimeout
	if timeout == 0 {
		timeout = defaultHandshakeTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout,
			fmt.Errorf("websocket: handshake timeout of %v passed: %w", timeout, context.DeadlineExceeded))
		defer cancel()
	}

	if d.HTTP2Transport != nil {
		return d.dialH2(ctx, cr)
	}
	netConn, resp, pending, err := d.open(ctx, cr)
	if err != nil {
		if ctx.Err() != nil {
			// Whatever the I/O error, the context is why.
			err = fmt.Errorf("websocket: dial %s: %w (%v)", cr.where, context.Cause(ctx), err)
		}
		return nil, resp, err
	}
	subprotocol, deflate, err := cr.checkResponse(resp, d.Compression)
	if err != nil {
		netConn.Close()
		d.refused(cr, resp, err)
		return nil, resp, err
	}
	cfg := d.config(subprotocol, deflate)
	c := newConn(&netStream{Conn: netConn, pending: pending}, cfg)
	if d.Group != nil && !d.Group.add(c) {
		// The drain began while this connection was being opened.
		_ = c.Terminate() // nothing has been said on it yet
		return nil, resp, fmt.Errorf("websocket: dial %s: %w: closed the new connection", cr.where, ErrShuttingDown)
	}
	return c, resp, nil
}

// config is what a Conn made by d takes from it.
func (d *Dialer) config(subprotocol string, deflate *deflateParams) connConfig {
	return connConfig{
		role:            roleClient,
		subprotocol:     subprotocol,
		readLimit:       d.ReadLimit,
		closeTimeout:    d.CloseTimeout,
		frameTimeout:    d.FrameTimeout,
		writeTimeout:    d.WriteTimeout,
		pingInterval:    d.PingInterval,
		pongTimeout:     d.PongTimeout,
		group:           d.Group,
		stats:           d.Stats,
		onEnd:           d.OnEnd,
		logger:          d.Logger,
		deflate:         deflate,
		deflateMin:      d.CompressionThreshold,
		readBufferSize:  d.ReadBufferSize,
		writeBufferSize: d.WriteBufferSize,
	}.withDefaults()
}

// open connects to the server, through the proxy if there is one, runs
// TLS for wss, sends the handshake request and reads the response. It
// returns the connection, the response and the bytes the server sent
// past it. The response comes back on an error too, once one was read.
func (d *Dialer) open(ctx context.Context, cr *clientRequest) (net.Conn, *http.Response, []byte, error) {
	proxyURL, err := d.proxyFor(cr.req)
	if err != nil {
		return nil, nil, nil, err
	}
	addr := cr.addr
	if proxyURL != nil {
		addr = proxyAddr(proxyURL)
	}
	dial := d.NetDialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	netConn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("websocket: dial %s: %w", cr.where, err)
	}
	if netConn == nil {
		return nil, nil, nil, fmt.Errorf("websocket: dial %s: NetDialContext returned neither a connection nor an error", cr.where)
	}
	// The context ends the exchange below by expiring the connection's
	// deadlines: one mechanism for every read and write, whatever the
	// reason the context ends.
	stop := context.AfterFunc(ctx, func() { _ = netConn.SetDeadline(aLongTimeAgo) })
	conn, resp, pending, err := d.exchange(ctx, netConn, proxyURL, cr)
	if !stop() && err == nil {
		err = fmt.Errorf("websocket: dial %s: %w", cr.where, context.Cause(ctx))
	}
	if err != nil {
		netConn.Close()
		return nil, resp, nil, err
	}
	_ = netConn.SetDeadline(time.Time{})
	return conn, resp, pending, nil
}

// aLongTimeAgo is a deadline that has passed: setting it ends blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// exchange runs everything after the TCP connection: the proxy's CONNECT,
// TLS, and the request and response of the handshake.
func (d *Dialer) exchange(ctx context.Context, netConn net.Conn, proxyURL *url.URL, cr *clientRequest) (net.Conn, *http.Response, []byte, error) {
	conn := netConn
	if proxyURL != nil {
		if err := connectThrough(conn, proxyURL, cr.addr); err != nil {
			return nil, nil, nil, err
		}
	}
	if cr.tls {
		cfg := d.TLSClientConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = cr.req.URL.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, nil, fmt.Errorf("websocket: dial %s: TLS handshake: %w", cr.where, err)
		}
		conn = tc
	}
	resp, pending, err := cr.roundTrip(conn, d.Jar)
	return conn, resp, pending, err
}

// proxyFor returns the proxy for req, or nil for none.
func (d *Dialer) proxyFor(req *http.Request) (*url.URL, error) {
	proxy := d.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	u, err := proxy(req)
	if err != nil {
		return nil, fmt.Errorf("websocket: finding the proxy: %w", err)
	}
	if u != nil && u.Scheme != "http" {
		return nil, fmt.Errorf("websocket: proxy scheme %q is not supported, only http", u.Scheme)
	}
	return u, nil
}

// proxyAddr is the host:port of an http proxy.
func proxyAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// connectThrough asks an HTTP proxy on conn for a tunnel to addr (RFC 9110
// section 9.3.6), with basic credentials from the proxy URL's userinfo.
func connectThrough(conn net.Conn, proxyURL *url.URL, addr string) error {
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: http.Header{},
	}
	if u := proxyURL.User; u != nil {
		password, _ := u.Password()
		creds := base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + password))
		req.Header.Set("Proxy-Authorization", "Basic "+creds)
	}
	if err := req.Write(conn); err != nil {
		return fmt.Errorf("websocket: proxy %s: %w", proxyURL.Host, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fmt.Errorf("websocket: proxy %s: reading its answer to CONNECT: %w", proxyURL.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("websocket: proxy %s refused to CONNECT to %s: %s", proxyURL.Host, addr, resp.Status)
	}
	if br.Buffered() > 0 {
		// The server speaks only after our request (or TLS hello): these
		// bytes can only be the proxy's.
		return fmt.Errorf("websocket: proxy %s sent bytes past its answer to CONNECT", proxyURL.Host)
	}
	return nil
}

// refused counts and logs a handshake the server refused.
func (d *Dialer) refused(cr *clientRequest, resp *http.Response, err error) {
	reason := RefusalBadResponse
	switch code := resp.StatusCode; {
	case code >= 300 && code < 400 && resp.Header.Get("Location") != "":
		reason = RefusalRedirect
	case code != http.StatusSwitchingProtocols:
		reason = RefusalStatus
	}
	d.refusedAs(cr, resp, reason, err)
}

// refusedAs counts and logs a refused handshake with reason.
func (d *Dialer) refusedAs(cr *clientRequest, resp *http.Response, reason string, err error) {
	if d.Stats != nil {
		d.Stats.refused(resp.StatusCode, reason)
	}
	if d.Logger != nil {
		d.Logger.Info("websocket handshake refused by the server",
			slog.String("url", cr.where),
			slog.Int("status", resp.StatusCode),
			slog.String("reason", reason),
			slog.Any("err", err))
	}
}
