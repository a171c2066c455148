package websocket

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// MessageType is the type of a data message (RFC 6455 section 5.6).
type MessageType int

const (
	// TextMessage is UTF-8 text.
	TextMessage MessageType = 1
	// BinaryMessage is arbitrary bytes.
	BinaryMessage MessageType = 2
)

// String returns "text" or "binary".
func (t MessageType) String() string {
	switch t {
	case TextMessage:
		return "text"
	case BinaryMessage:
		return "binary"
	}
	return fmt.Sprintf("MessageType(%d)", int(t))
}

// opcode returns the frame opcode of t, or an error for an invalid type.
func (t MessageType) opcode() (opcode, error) {
	switch t {
	case TextMessage:
		return opText, nil
	case BinaryMessage:
		return opBinary, nil
	}
	return 0, fmt.Errorf("websocket: invalid message type %d", int(t))
}

// Defaults for the zero Upgrader and the zero Dialer.
const (
	defaultReadLimit    = 1 << 20
	defaultCloseTimeout = 5 * time.Second
	defaultBufferSize   = 4096
	minReadBufferSize   = 256
)

// Conn is a WebSocket connection, made by Upgrader.Upgrade on a server or
// by Dialer.DialContext on a client; both roles have the same methods.
//
// Concurrency: one goroutine at a time may read (NextReader, ReadMessage
// and the readers they return); a second one waits for the first. Any
// number of goroutines may write (WriteMessage, NextWriter): each message
// goes out whole, never interleaved with another. Close, Terminate, Ping,
// the deadline setters and the accessors are safe from any goroutine,
// concurrently with everything else.
type Conn struct {
	noCopy noCopy

	stream        stream
	role          role
	subprotocol   string
	closeTimeout  time.Duration
	writeTimeout  time.Duration
	readLimit     atomic.Int64
	hb            atomic.Pointer[heartbeat] // nil until the heartbeat is first turned on
	ft            frameTimer
	deflate       *deflateState // permessage-deflate; nil when not negotiated
	counts        *connCounts   // nil unless Stats, OnEnd or Logger asked
	onEnd         func()        // run once the connection has ended: leaves its Group
	served        atomic.Pointer[serveState]
	readDeadline  atomic.Int64 // SetReadDeadline's, in Unix nanoseconds; 0 for none
	writeDeadline atomic.Int64 // SetWriteDeadline's, in Unix nanoseconds; 0 for none. Control frames lift it once closing

	// Read state. readLock is held by the goroutine reading frames: an
	// application reader, or Close draining; readers counts the
	// application's goroutines inside a read method, holding readLock or
	// waiting for it.
	readLock waitLock
	readers  atomic.Int32
	hasRead  atomic.Bool // a read method was called: a read loop may be between two messages
	br       *readBuf    // guarded by readLock
	rd       readState   // guarded by readLock
	// msgReaders are the readers NextReader returns, by message parity.
	msgReaders [2]messageReader // guarded by readLock

	// Write state. msgLock is held for a whole data message, frameLock for
	// one frame, so that control frames can go out between the fragments
	// of a message.
	msgLock     waitLock
	frameLock   waitLock
	wpool       *bufferPool         // write buffers: maxHeaderSize of headroom, then payload
	msgWriters  [2]messageWriter    // guarded by msgLock; NextWriter alternates them
	writers     uint64              // guarded by msgLock; counts NextWriter calls
	hdr         [maxHeaderSize]byte // guarded by frameLock
	writeBroken bool                // guarded by frameLock: a failed write left a frame half sent
	writeBound  int64               // guarded by msgLock: a broadcast's bound on the write of its message, in Unix nanoseconds; 0 for none

	pingMu      sync.Mutex
	pings       []*pingWaiter // guarded by pingMu
	pongHandler atomic.Pointer[func(appData string) error]

	closeFields // the close state machine's: see close.go
}

// connConfig is what a Conn takes from its Upgrader or Dialer.
type connConfig struct {
	role            role
	subprotocol     string
	readLimit       int64
	closeTimeout    time.Duration
	frameTimeout    time.Duration // resolved: zero means no bound
	writeTimeout    time.Duration
	pingInterval    time.Duration
	pongTimeout     time.Duration
	group           *Group
	stats           *Stats
	onEnd           func(ConnEnd)
	logger          *slog.Logger
	deflate         *deflateParams // nil: no compression
	deflateMin      int            // messages shorter go uncompressed
	readBufferSize  int
	writeBufferSize int
}

// withDefaults resolves what the zero values of the fields an Upgrader
// and a Dialer share mean: the one place those defaults live.
func (cfg connConfig) withDefaults() connConfig {
	if cfg.readLimit == 0 {
		cfg.readLimit = defaultReadLimit
	}
	if cfg.deflateMin == 0 {
		cfg.deflateMin = defaultCompressionThreshold
	}
	if cfg.closeTimeout <= 0 {
		cfg.closeTimeout = defaultCloseTimeout
	}
	switch {
	case cfg.frameTimeout == 0:
		cfg.frameTimeout = defaultFrameTimeout
	case cfg.frameTimeout < 0:
		cfg.frameTimeout = 0 // no bound
	}
	if cfg.readBufferSize <= 0 {
		cfg.readBufferSize = defaultBufferSize
	}
	// A frame header must fit in the read buffer.
	cfg.readBufferSize = max(cfg.readBufferSize, minReadBufferSize)
	if cfg.writeBufferSize <= 0 {
		cfg.writeBufferSize = defaultBufferSize
	}
	return cfg
}

func newConn(s stream, cfg connConfig) *Conn {
	c := &Conn{
		stream:       s,
		role:         cfg.role,
		subprotocol:  cfg.subprotocol,
		closeTimeout: cfg.closeTimeout,
		writeTimeout: cfg.writeTimeout,
		wpool:        poolFor(maxHeaderSize + cfg.writeBufferSize),
	}
	var pending []byte
	if ns, ok := s.(*netStream); ok {
		pending, ns.pending = ns.pending, nil
	}
	c.br = newReadBuf(s, rawConnOf(s), poolFor(cfg.readBufferSize), pending)
	c.ft.c, c.ft.timeout = c, cfg.frameTimeout
	c.br.watch = &c.ft
	c.done = make(chan struct{})
	c.readLimit.Store(cfg.readLimit)
	if cfg.deflate != nil {
		d := &deflateState{params: *cfg.deflate, threshold: cfg.deflateMin, sweeper: idleCompressors}
		d.enabled.Store(true)
		d.sent.window = 1 << d.params.windowBits()
		c.deflate = d
	}
	if c.counts = newConnCounts(&cfg); c.counts != nil && cfg.stats != nil {
		cfg.stats.opened(c)
	}
	if g := cfg.group; g != nil {
		c.onEnd = func() { g.remove(c) }
	}
	c.SetHeartbeat(cfg.pingInterval, cfg.pongTimeout)
	return c
}

// Subprotocol returns the subprotocol chosen in the opening handshake, or
// "" for none. Safe from any goroutine.
func (c *Conn) Subprotocol() string { return c.subprotocol }

// RemoteAddr returns the peer's network address. Safe from any goroutine.
func (c *Conn) RemoteAddr() net.Addr { return c.stream.RemoteAddr() }

// LocalAddr returns the local network address. Safe from any goroutine.
func (c *Conn) LocalAddr() net.Addr { return c.stream.LocalAddr() }

// SetReadLimit sets the largest message, in bytes, that the peer may send;
// a larger one fails the connection with StatusMessageTooBig before its
// payload is read. Zero or less means no limit. Safe from any goroutine;
// it applies from the next frame on.
func (c *Conn) SetReadLimit(limit int64) { c.readLimit.Store(limit) }

// SetReadDeadline sets when blocked and future reads fail; a read that
// fails this way ends the connection with StatusAbnormalClosure. On a
// connection given to Serve it ends the connection when it passes while
// the peer sends nothing. The zero time means no deadline. Once the
// closing handshake has started, the close timeout rules and this call
// does nothing. Safe from any goroutine.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.closing.Load() {
		return nil
	}
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	c.readDeadline.Store(ns) // before the stream's, so that a lift finds it
	err := c.stream.SetReadDeadline(t)
	c.serveDeadline(t)
	if c.closing.Load() {
		// The handshake began meanwhile and may have lifted deadlines
		// before this one was set: lift it too.
		c.readDeadline.Store(0)
		_ = c.stream.SetReadDeadline(time.Time{})
	}
	return err
}

// SetWriteDeadline sets when blocked and future writes fail; a write that
// fails this way leaves a frame half sent, so it ends the connection. The
// zero time means no deadline. Once the closing handshake has started, the
// close timeout rules and this call does nothing. Safe from any goroutine.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.closing.Load() {
		return nil
	}
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	c.writeDeadline.Store(ns) // before the stream's, so that a lift finds it
	err := c.stream.SetWriteDeadline(t)
	if c.closing.Load() && c.writeTimeout == 0 {
		// As in SetReadDeadline: the handshake's lift may have come first.
		c.writeDeadline.Store(0)
		_ = c.stream.SetWriteDeadline(time.Time{})
	}
	return err
}

// pingWaiter is a Ping waiting for its pong.
type pingWaiter struct {
	payload string
	pong    chan struct{}
}

// Ping sends a ping frame with payload (at most 125 bytes) and waits until a
// pong with the same payload arrives, ctx ends, or the connection ends.
// Waiting for another frame to finish honors ctx; the ping's own write is
// bounded by the WriteTimeout, not by ctx. Pongs are read by the read
// methods, so some goroutine must be reading. Safe from any goroutine;
// concurrent pings are told apart by payload.
func (c *Conn) Ping(ctx context.Context, payload []byte) error {
	if len(payload) > maxControlPayload {
		return fmt.Errorf("websocket: ping payload of %d bytes is longer than %d", len(payload), maxControlPayload)
	}
	w := &pingWaiter{payload: string(payload), pong: make(chan struct{})}
	c.pingMu.Lock()
	c.pings = append(c.pings, w)
	c.pingMu.Unlock()
	defer c.forgetPing(w)
	if err := c.writeControl(opPing, payload, "", ctx.Done()); err != nil {
		if err == errWriteStopped {
			return fmt.Errorf("websocket: ping: %w", ctx.Err())
		}
		return err
	}
	select {
	case <-w.pong:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("websocket: ping: %w", ctx.Err())
	case <-c.done:
		return fmt.Errorf("websocket: ping: %w", c.terminalError())
	}
}

func (c *Conn) forgetPing(w *pingWaiter) {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	for i, p := range c.pings {
		if p == w {
			c.pings = append(c.pings[:i], c.pings[i+1:]...)
			return
		}
	}
}

// gotPong wakes the pings whose payload the pong carries, and tells the
// heartbeat the peer is alive.
func (c *Conn) gotPong(payload []byte) {
	c.pongArrived()
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	kept := c.pings[:0]
	for _, w := range c.pings {
		if w.payload == string(payload) {
			close(w.pong)
		} else {
			kept = append(kept, w)
		}
	}
	c.pings = kept
}

// noCopy makes go vet report a Conn copied by value.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// SetPongHandler sets a function called with the payload of every pong the
// peer sends, in the goroutine that reads, after the heartbeat and Ping
// have taken note of it; nil removes it. A gorilla/websocket read loop that
// moves its read deadline on in its pong handler keeps working unchanged:
//
//	conn.SetPongHandler(func(string) error {
//		return conn.SetReadDeadline(time.Now().Add(pongWait))
//	})
//
// (The heartbeat, PingInterval, needs no deadline of the application's:
// it terminates a peer that stops answering by itself.) A non-nil error
// from h terminates the connection; the read returns a *CloseError with
// StatusAbnormalClosure wrapping it. Safe from any goroutine.
func (c *Conn) SetPongHandler(h func(appData string) error) {
	if h == nil {
		c.pongHandler.Store(nil)
		return
	}
	c.pongHandler.Store(&h)
}

// handlerError is an error returned by a handler the application set: it
// ends the connection from this side.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return "websocket: handler: " + e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }
