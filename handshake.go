package websocket

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Upgrader upgrades HTTP requests to WebSocket connections (RFC 6455
// section 4.2). Its zero value is ready to use, with the defaults given
// below. Upgrade only reads its fields, so one Upgrader may serve any
// number of goroutines; change it only while it serves none.
type Upgrader struct {
	// Subprotocols lists the subprotocols the server speaks, most
	// preferred first. The first one the client also offers is chosen;
	// none is chosen when they share none (browsers and Node's ws then
	// fail the connection on their side).
	Subprotocols []string

	// Error, when set, writes the response to a refused request instead of
	// the plain-text http.Error: status is the HTTP status (400, 403, 405,
	// 426 or 503) and reason the error Upgrade returns, which wraps
	// ErrBadHandshake or ErrShuttingDown and says why. Headers the status
	// calls for (Allow, Sec-WebSocket-Version) are already set on w. It is
	// called from Upgrade's goroutine.
	Error func(w http.ResponseWriter, r *http.Request, status int, reason error)

	// CheckOrigin decides whether a request's Origin may connect. Nil
	// refuses a request whose Origin header is present and names a host
	// other than the request's Host (a cross-origin browser page), with
	// HTTP 403. Non-browser clients usually send no Origin.
	CheckOrigin func(r *http.Request) bool

	// ReadLimit is the largest message, in bytes, the peer may send
	// (1 MiB when zero; no limit when negative). Larger messages fail the
	// connection with StatusMessageTooBig.
	ReadLimit int64

	// CloseTimeout bounds the closing handshake, from the moment either
	// side starts it: writing our close frame and waiting for the peer's
	// (5 s when zero or negative). When it passes, the connection is dropped. It also
	// bounds the write of the 101 response.
	CloseTimeout time.Duration

	// FrameTimeout bounds how long a frame may take to arrive once its
	// first byte has: a peer that sends part of a frame and stops would
	// hold a goroutine and a read buffer until something else ended the
	// connection. When it passes the connection is terminated, its
	// CloseEvent.Err being ErrFrameTimeout (60 s when zero, enough for a
	// message of 1 MiB at 20 KB/s; no bound when negative). A peer that
	// sends nothing between frames is not bounded by it: PingInterval or
	// a read deadline bounds an idle peer.
	FrameTimeout time.Duration

	// WriteTimeout bounds every write: a peer that stops reading cannot
	// block a writer longer. A write that times out terminates the
	// connection and returns an error wrapping ErrWriteTimeout. Zero means
	// no bound but the deadline of Conn.SetWriteDeadline, which a
	// WriteTimeout replaces at every write.
	WriteTimeout time.Duration

	// PingInterval turns the heartbeat on: every interval the connection
	// sends a ping, and when no pong arrives within PongTimeout (PingInterval
	// when zero) it is terminated, its CloseEvent.Err being ErrPongTimeout.
	// A PongTimeout above PingInterval lets pings go on while the first
	// unanswered one waits (see Conn.SetHeartbeat).
	// Zero means off. See Conn.SetHeartbeat.
	PingInterval time.Duration
	PongTimeout  time.Duration

	// Compression turns permessage-deflate (RFC 7692) on: the client's
	// first acceptable offer is answered, and messages are compressed
	// at deflate's fastest level. Off when zero. See
	// CompressionMode for what each mode holds per connection.
	Compression CompressionMode

	// CompressionThreshold is the size in bytes below which WriteMessage
	// sends a message uncompressed, since deflate makes short messages
	// longer (128 when zero; negative compresses every message). Messages
	// written with NextWriter are compressed whatever their size.
	CompressionThreshold int

	// Group, when set, tracks every Conn this Upgrader makes, so that
	// Group.Shutdown can close them all; while it drains, Upgrade answers
	// HTTP 503.
	Group *Group

	// ReadBufferSize and WriteBufferSize are the sizes, in bytes, of the
	// connection's read and write buffers (4096 when zero; reads take at
	// least 256). Buffers come from a pool while a message is read or
	// written: an idle connection holds none.
	ReadBufferSize  int
	WriteBufferSize int

	// Stats, when set, counts this Upgrader's connections: refused
	// handshakes, traffic, and how each connection ended. See Stats.
	Stats *Stats
	// OnEnd, when set, is called once for every connection that has
	// ended, with its CloseEvent, cause and traffic, in a goroutine of its
	// own: it cannot hold up the end, and may block.
	OnEnd func(ConnEnd)
	// Logger, when set, logs refused handshakes (at Info) and abnormal
	// ends (at Warn: 1002, 1007 and 1009 either way, and 1006 that the
	// application did not ask for with Terminate), with the remote
	// address, code, reason, cause and duration. Nothing is logged when
	// nil.
	Logger *slog.Logger
}

// acceptGUID is the GUID of RFC 6455 section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// handshakeError is an upgrade request refused with an HTTP status.
type handshakeError struct {
	status int
	reason string      // one of the Refusal constants, for Stats and the log
	header http.Header // extra response headers, such as Allow
	msg    string
	kind   error // ErrBadHandshake, or ErrShuttingDown
}

func (e *handshakeError) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d)", e.kind, strings.TrimPrefix(e.msg, "websocket: "), e.status)
}

func (e *handshakeError) Unwrap() error { return e.kind }

func refuse(status int, reason, msg string) *handshakeError {
	return &handshakeError{status: status, reason: reason, msg: msg, kind: ErrBadHandshake}
}

// Upgrade upgrades the request r to a WebSocket connection: an HTTP/1.1
// GET with Upgrade: websocket (RFC 6455), or an HTTP/2 extended CONNECT
// with :protocol websocket (RFC 8441). responseHeader may add headers,
// such as Set-Cookie, to the 101 (HTTP/2: 200) response; the handshake's
// own headers are set by Upgrade and override any there.
//
// A request that is not a valid WebSocket handshake is answered with an
// HTTP error (405, 400, 426, 501 or 403) and Upgrade returns an error
// wrapping ErrBadHandshake that says why; while the Upgrader's Group
// drains, it is answered with 503 and the error wraps ErrShuttingDown.
// The application must not write to w after any error. Bytes the client
// sent behind its request are the first the Conn reads. Safe from any
// number of goroutines.
//
// Over HTTP/1.1 the connection is hijacked, and the handler may return
// at once. Over HTTP/2 the Conn runs on the request's stream, which
// net/http ends when the handler returns: the handler must not return
// before the Conn has ended (wait for Conn.Done), and its return is what
// sends END_STREAM after a closing handshake. A handler that returns
// early ends the connection with StatusAbnormalClosure. See "WebSockets
// over HTTP/2" in the package documentation for how to turn it on.
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (*Conn, error) {
	if w == nil || r == nil {
		return nil, fmt.Errorf("%w: nil ResponseWriter or Request", ErrBadHandshake)
	}
	if u == nil {
		u = &Upgrader{}
	}
	if r.ProtoMajor == 2 {
		return u.upgradeH2(w, r, responseHeader)
	}
	key, subprotocol, herr := u.checkRequest(r)
	if herr == nil {
		herr = u.checkDraining()
	}
	if herr != nil {
		return nil, u.refuseRequest(w, r, herr)
	}

	netConn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: cannot take over the connection", http.StatusInternalServerError)
		err = fmt.Errorf("websocket: failed to hijack the connection: %w", err)
		u.refused(r, http.StatusInternalServerError, RefusalHijack, err)
		return nil, err
	}
	s := &netStream{Conn: netConn}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		s.pending = bytes.Clone(b)
	}

	cfg := u.config(subprotocol)
	var extensions string
	if params, offer, ok := negotiateDeflate(r.Header.Values("Sec-Websocket-Extensions"), u.Compression); ok {
		cfg.deflate, extensions = &params, offer
	}
	resp := buildResponse(key, subprotocol, extensions, responseHeader)
	return u.open(s, cfg, func() error {
		if _, err := netConn.Write(resp); err != nil {
			return fmt.Errorf("websocket: failed to write the handshake response: %w", err)
		}
		return nil
	})
}

// open makes the Conn of an accepted handshake, then sends the answer
// with send, within the close timeout. The Conn is counted in Stats and
// added to the Group before the answer goes out, so that once a client's
// Dial returns, a Snapshot counts the connection and a Shutdown waits for
// it; its frame lock is held until then, so that a ping or a close frame
// goes out after the answer. A connection whose answer fails is dropped.
func (u *Upgrader) open(s stream, cfg connConfig, send func() error) (*Conn, error) {
	c := newConn(s, cfg)
	if !c.frameLock.lock(c.done) {
		return nil, fmt.Errorf("websocket: the connection ended before the handshake response: %w", net.ErrClosed)
	}
	late := u.Group != nil && !u.Group.add(c)
	_ = s.SetWriteDeadline(time.Now().Add(cfg.closeTimeout))
	err := send()
	_ = s.SetWriteDeadline(time.Time{})
	c.frameLock.unlock()
	if err != nil {
		_ = c.Terminate()
		return nil, err
	}
	if late {
		// The drain began while this request was being upgraded.
		u.Group.closeLate(c)
		return nil, fmt.Errorf("%w: closed the new connection", ErrShuttingDown)
	}
	return c, nil
}

// checkDraining refuses every request while the Upgrader's Group drains.
func (u *Upgrader) checkDraining() *handshakeError {
	if u.Group != nil && u.Group.isDraining() {
		return &handshakeError{status: http.StatusServiceUnavailable, reason: RefusalShuttingDown, msg: "websocket: the server is shutting down", kind: ErrShuttingDown}
	}
	return nil
}

// refuseRequest answers a refused handshake with its HTTP error, counts
// and logs it, and returns it.
func (u *Upgrader) refuseRequest(w http.ResponseWriter, r *http.Request, herr *handshakeError) error {
	u.refused(r, herr.status, herr.reason, herr)
	for k, v := range herr.header {
		w.Header()[k] = v
	}
	if u.Error != nil {
		u.Error(w, r, herr.status, herr)
	} else {
		http.Error(w, herr.msg, herr.status)
	}
	return herr
}

// checkRequest applies the rules of RFC 6455 section 4.2.1 and returns the
// client's key and the chosen subprotocol.
func (u *Upgrader) checkRequest(r *http.Request) (key, subprotocol string, err *handshakeError) {
	if r.Method != http.MethodGet {
		e := refuse(http.StatusMethodNotAllowed, RefusalMethod, "websocket: the handshake must be a GET request")
		e.header = http.Header{"Allow": {http.MethodGet}}
		return "", "", e
	}
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return "", "", refuse(http.StatusBadRequest, RefusalHTTPVersion, "websocket: the handshake must be an HTTP/1.1 request or an HTTP/2 extended CONNECT")
	}
	// A body would be read as the first WebSocket frames: the bytes after
	// the request's head belong to the WebSocket stream.
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		return "", "", refuse(http.StatusBadRequest, RefusalBody, "websocket: the handshake request may not have a body")
	}
	if !httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket") {
		return "", "", refuse(http.StatusBadRequest, RefusalUpgradeHeader, "websocket: the Upgrade header does not name websocket")
	}
	if !httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") {
		return "", "", refuse(http.StatusBadRequest, RefusalConnectionHeader, "websocket: the Connection header does not name upgrade")
	}
	if e := checkVersion(r, http.StatusUpgradeRequired); e != nil {
		return "", "", e
	}
	keys := r.Header.Values("Sec-Websocket-Key")
	if len(keys) != 1 {
		return "", "", refuse(http.StatusBadRequest, RefusalKey, "websocket: want one Sec-WebSocket-Key header")
	}
	key = strings.TrimSpace(keys[0])
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		return "", "", refuse(http.StatusBadRequest, RefusalKey, "websocket: Sec-WebSocket-Key is not 16 bytes in base64")
	}
	if e := u.checkOrigin(r); e != nil {
		return "", "", e
	}
	return key, u.chooseSubprotocol(r), nil
}

// checkVersion refuses a Sec-WebSocket-Version other than 13 with status,
// naming the version the server speaks (RFC 6455 section 4.4).
func checkVersion(r *http.Request, status int) *handshakeError {
	if v := r.Header.Values("Sec-Websocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		e := refuse(status, RefusalVersion, "websocket: unsupported Sec-WebSocket-Version, want 13")
		e.header = http.Header{"Sec-Websocket-Version": {"13"}}
		return e
	}
	return nil
}

// checkOrigin refuses an Origin that CheckOrigin, or sameOrigin when it
// is nil, does not accept.
func (u *Upgrader) checkOrigin(r *http.Request) *handshakeError {
	checkOrigin := u.CheckOrigin
	if checkOrigin == nil {
		checkOrigin = sameOrigin
	}
	if !checkOrigin(r) {
		return refuse(http.StatusForbidden, RefusalOrigin, "websocket: origin not allowed")
	}
	return nil
}

// sameOrigin accepts a request without an Origin header, or one whose
// Origin names the host the request was sent to.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Values("Origin")
	if len(origin) == 0 {
		return true
	}
	u, err := url.Parse(origin[0])
	if err != nil || len(origin) > 1 {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// chooseSubprotocol returns the first of u.Subprotocols the client offers.
func (u *Upgrader) chooseSubprotocol(r *http.Request) string {
	offered := r.Header.Values("Sec-Websocket-Protocol")
	for _, want := range u.Subprotocols {
		for _, line := range offered {
			for _, p := range strings.Split(line, ",") {
				if strings.TrimSpace(p) == want {
					return want
				}
			}
		}
	}
	return ""
}

// config is what a Conn made by u takes from it.
func (u *Upgrader) config(subprotocol string) connConfig {
	return connConfig{
		role:            roleServer,
		subprotocol:     subprotocol,
		readLimit:       u.ReadLimit,
		closeTimeout:    u.CloseTimeout,
		frameTimeout:    u.FrameTimeout,
		writeTimeout:    u.WriteTimeout,
		pingInterval:    u.PingInterval,
		pongTimeout:     u.PongTimeout,
		group:           u.Group,
		stats:           u.Stats,
		onEnd:           u.OnEnd,
		logger:          u.Logger,
		deflateMin:      u.CompressionThreshold,
		readBufferSize:  u.ReadBufferSize,
		writeBufferSize: u.WriteBufferSize,
	}.withDefaults()
}

// handshakeHeaders are the response headers Upgrade sets itself.
var handshakeHeaders = map[string]bool{
	"Upgrade":                  true,
	"Connection":               true,
	"Sec-Websocket-Accept":     true,
	"Sec-Websocket-Protocol":   true,
	"Sec-Websocket-Extensions": true,
}

// buildResponse writes the 101 response. Headers from extra that are not
// valid HTTP are left out rather than let them split the response.
func buildResponse(key, subprotocol, extensions string, extra http.Header) []byte {
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b.WriteString(acceptKey(key))
	b.WriteString("\r\n")
	if subprotocol != "" {
		b.WriteString("Sec-WebSocket-Protocol: " + subprotocol + "\r\n")
	}
	if extensions != "" {
		b.WriteString("Sec-WebSocket-Extensions: " + extensions + "\r\n")
	}
	for k, vs := range extra {
		if handshakeHeaders[http.CanonicalHeaderKey(k)] || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vs {
			if httpguts.ValidHeaderFieldValue(v) {
				b.WriteString(k + ": " + v + "\r\n")
			}
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// acceptKey computes Sec-WebSocket-Accept for a client's key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// refused counts and logs a refused handshake.
func (u *Upgrader) refused(r *http.Request, status int, reason string, err error) {
	if u.Stats != nil {
		u.Stats.refused(status, reason)
	}
	if u.Logger != nil {
		u.Logger.Info("websocket handshake refused",
			slog.String("remote", r.RemoteAddr),
			slog.Int("status", status),
			slog.String("reason", reason),
			slog.Any("err", err))
	}
}
