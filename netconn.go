package websocket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// NetConn returns a net.Conn that carries a byte stream over c's messages
// of type typ, for running another protocol (SSH, HTTP/2, a line protocol)
// over a WebSocket.
//
//   - Read returns the payloads of successive messages as one stream: a
//     Read may end inside a message and the next one crosses into the
//     following message. The stream ends with io.EOF when the peer closes
//     with StatusNormalClosure or StatusGoingAway, and with an error
//     wrapping the *CloseError, or the protocol violation, otherwise. A
//     message of another type than typ ends it too, with an error, and
//     closes the connection with StatusUnsupportedData.
//   - Write sends p as messages of type typ of at most 32 KiB each, so
//     that a large Write stays within the peer's read limit (1 MiB by
//     default). For TextMessage, p must be valid UTF-8 on its own, and
//     is cut between characters.
//   - Close runs the closing handshake with StatusNormalClosure after the
//     bytes already written have gone out, as Conn.Close does. A second
//     Close returns an error wrapping net.ErrClosed.
//   - LocalAddr and RemoteAddr are c's.
//
// # Deadlines
//
// The deadlines are the net.Conn's own and recoverable, as on a TCP
// connection: a Read or Write whose deadline passes returns an error that
// is a net.Error with Timeout() true and wraps os.ErrDeadlineExceeded,
// and the connection stays open; extend the deadline and go on. The
// deadlines of c (Conn.SetReadDeadline, Conn.SetWriteDeadline), which end
// the connection when they pass, are not touched. To find a dead peer,
// use the heartbeat (Upgrader.PingInterval) or the other protocol's own.
//
// This costs two goroutines, started by the first Read and the first
// Write, that own c's reading and writing: a Read that times out leaves
// c's read waiting in the reader goroutine, and the next Read takes what
// it gets. The reader fetches up to 32 KiB at a time only when a Read
// asks, so the peer is held back as by TCP. The writer sends a copy of
// each message: Write returns once the copy of its last message is made
// and the message before has gone out, as a socket's Write returns once
// the kernel has the bytes; an error sending it is returned by a later
// Write and is sticky. A Write whose deadline passes returns the count of
// the bytes it handed over, which go out, and none of the rest.
// Both goroutines end with the connection, which Close ends.
//
// # Concurrency
//
// Read, Write, Close, the deadline setters and the accessors are safe
// from any goroutine, as net.Conn asks. Reads are served one at a time,
// and so are the messages of Writes: concurrent Writes of up to 32 KiB
// each go out whole, in some order, but larger ones may interleave their
// pieces, so a stream should have one reader and one writer at a time.
// Once c is given to NetConn, read it only through the net.Conn; writing
// to c directly interleaves messages with the stream.
//
// NetConn returns an error for a nil c or a typ that is neither
// TextMessage nor BinaryMessage.
func NetConn(c *Conn, typ MessageType) (net.Conn, error) {
	if c == nil {
		return nil, errors.New("websocket: NetConn of a nil *Conn")
	}
	if _, err := typ.opcode(); err != nil {
		return nil, fmt.Errorf("websocket: NetConn: %w", err)
	}
	nc := &netConn{
		c:             c,
		typ:           typ,
		closed:        make(chan struct{}),
		readDeadline:  newStreamDeadline(),
		writeDeadline: newStreamDeadline(),
		want:          make(chan struct{}, 1),
		ready:         make(chan chunk, 1),
		readerGone:    make(chan struct{}),
		readLock:      make(chan struct{}, 1),
		writeToken:    make(chan struct{}, 1),
		job:           make(chan []byte, 1),
		writerGone:    make(chan struct{}),
	}
	nc.readLock <- struct{}{}
	nc.writeToken <- struct{}{}
	return nc, nil
}

// netConnChunk is how much the reader goroutine fetches per request.
const netConnChunk = 32 << 10

// netConn is the net.Conn NetConn returns.
type netConn struct {
	c      *Conn
	typ    MessageType
	closed chan struct{} // closed by the first Close
	closes atomic.Bool   // set by the first Close

	readDeadline, writeDeadline *streamDeadline

	// Read side. readLock (a token channel, so that waiting for it can
	// honor the deadline) is held by the Read in progress; it guards
	// pending, asked and readErr. The reader goroutine owns buf between a
	// request on want and its answer on ready.
	readLock   chan struct{}
	startRead  sync.Once
	want       chan struct{} // a Read asks the reader for the next chunk
	ready      chan chunk    // the reader's answer
	readerGone chan struct{} // closed when the reader goroutine returns
	buf        []byte
	pending    []byte // what the last chunk left to hand out
	asked      bool   // a request on want has not been answered yet
	readErr    error  // the stream's end: sticky

	// Write side. writeToken is held by a Write while it copies its bytes,
	// then by the writer goroutine until they have gone out; it guards
	// wbuf and writeErr.
	writeToken chan struct{}
	startWrite sync.Once
	job        chan []byte   // the bytes of one Write, for the writer
	writerGone chan struct{} // closed when the writer goroutine returns
	wbuf       []byte
	writeErr   error // the first failed send: sticky
}

// chunk is the reader goroutine's answer: n bytes in buf, or the end.
type chunk struct {
	n   int
	err error
}

// Read reads the next bytes of the stream, across message boundaries.
// See NetConn.
func (nc *netConn) Read(p []byte) (int, error) {
	if err := nc.acquire(nc.readLock, nc.readDeadline, "read"); err != nil {
		return 0, err
	}
	defer func() { nc.readLock <- struct{}{} }()
	if nc.closes.Load() {
		return 0, nc.opError("read", net.ErrClosed)
	}
	if len(nc.pending) > 0 {
		return nc.hand(p), nil
	}
	if nc.readErr != nil {
		return 0, nc.readErr
	}
	if len(p) == 0 {
		return 0, nil
	}
	nc.startRead.Do(func() {
		nc.buf = make([]byte, netConnChunk)
		go nc.readLoop()
	})
	if !nc.asked {
		nc.want <- struct{}{} // never blocks: one request at a time
		nc.asked = true
	}
	if isClosed(nc.readDeadline.wait()) {
		return 0, nc.opError("read", os.ErrDeadlineExceeded)
	}
	var got chunk
	select {
	case got = <-nc.ready:
	case <-nc.readerGone:
		// The connection ended; an answer sent before may still wait.
		select {
		case got = <-nc.ready:
		default:
			got = chunk{err: nc.streamEnd(nc.c.endedError())}
		}
	case <-nc.readDeadline.wait():
		return 0, nc.opError("read", os.ErrDeadlineExceeded)
	case <-nc.closed:
		return 0, nc.opError("read", net.ErrClosed)
	}
	nc.asked = false
	nc.pending = nc.buf[:got.n]
	if got.err != nil {
		nc.readErr = got.err
	}
	if len(nc.pending) > 0 {
		return nc.hand(p), nil
	}
	return 0, nc.readErr
}

// hand copies pending bytes to p. The caller holds readLock.
func (nc *netConn) hand(p []byte) int {
	n := copy(p, nc.pending)
	nc.pending = nc.pending[n:]
	return n
}

// readLoop is the reader goroutine: it answers each request on want with
// the next bytes of the stream, or its end. After Close it reads on,
// discarding, so that the closing handshake finds a reader and gets the
// peer's close frame at once.
func (nc *netConn) readLoop() {
	defer close(nc.readerGone)
	var msg io.Reader // the message being read; nil between messages
	for {
		select {
		case <-nc.want:
		case <-nc.closed:
			// A Read may still be copying from buf: discard elsewhere.
			scratch := make([]byte, 4<<10)
			for {
				if _, err := nc.fill(&msg, scratch); err != nil {
					return
				}
			}
		case <-nc.c.Done():
			return
		}
		n, err := nc.fill(&msg, nc.buf)
		nc.ready <- chunk{n: n, err: err} // never blocks: one answer per request
		if err != nil {
			if errors.Is(err, ErrUnexpectedMessageType) {
				_ = nc.c.Close(StatusUnsupportedData, "net.Conn stream of "+nc.typ.String()+" messages")
			}
			return
		}
	}
}

// fill reads at least one byte of the stream into buf, moving on to the
// next message where one ends, or returns the stream's end.
func (nc *netConn) fill(msg *io.Reader, buf []byte) (int, error) {
	for {
		if *msg == nil {
			typ, r, err := nc.c.NextReader()
			if err != nil {
				return 0, nc.streamEnd(err)
			}
			if typ != nc.typ {
				return 0, fmt.Errorf("websocket: net.Conn read: a %v message in a %v stream: %w", typ, nc.typ, ErrUnexpectedMessageType)
			}
			*msg = r
		}
		n, err := (*msg).Read(buf)
		if err == io.EOF {
			*msg = nil
			err = nil
		}
		if err != nil {
			return 0, nc.streamEnd(err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// streamEnd is what Read returns for the Conn's read error err: io.EOF for
// a peer that closed normally or went away, err wrapped otherwise.
func (nc *netConn) streamEnd(err error) error {
	switch CloseStatus(err) {
	case StatusNormalClosure, StatusGoingAway:
		return io.EOF
	}
	return fmt.Errorf("websocket: net.Conn read: %w", err)
}

// Write sends p as messages of at most netConnChunk bytes. See NetConn.
func (nc *netConn) Write(p []byte) (int, error) {
	if nc.typ == TextMessage && !validUTF8(p) {
		return 0, fmt.Errorf("websocket: net.Conn write: %w", ErrInvalidUTF8)
	}
	written := 0
	for {
		if err := nc.acquire(nc.writeToken, nc.writeDeadline, "write"); err != nil {
			return written, err
		}
		if err := nc.writeRefused(); err != nil {
			nc.writeToken <- struct{}{}
			return written, err
		}
		if written == len(p) {
			nc.writeToken <- struct{}{}
			return written, nil
		}
		piece := nc.nextPiece(p[written:])
		nc.startWrite.Do(func() { go nc.writeLoop() })
		nc.wbuf = append(nc.wbuf[:0], piece...)
		nc.job <- nc.wbuf // never blocks: the token allows one job
		written += len(piece)
	}
}

// writeRefused returns why no more bytes may be handed to the writer, or
// nil. The caller holds writeToken.
func (nc *netConn) writeRefused() error {
	switch {
	case nc.closes.Load():
		return nc.opError("write", net.ErrClosed)
	case nc.writeErr != nil:
		return nc.writeErr
	case isClosed(nc.c.done):
		// The writer may have left: report the end rather than hand it
		// bytes that no one sends.
		return fmt.Errorf("websocket: net.Conn write: %w", nc.c.writeClosedErr())
	}
	return nil
}

// nextPiece is the part of p that goes out as the next message: at most
// netConnChunk bytes, cut between two characters in a text stream, so
// that every message is valid UTF-8 on its own.
func (nc *netConn) nextPiece(p []byte) []byte {
	if len(p) <= netConnChunk {
		return p
	}
	end := netConnChunk
	if nc.typ == TextMessage {
		for end > 0 && !utf8.RuneStart(p[end]) {
			end--
		}
	}
	return p[:end]
}

// writeLoop is the writer goroutine: it sends each message's copy and
// hands the token back.
func (nc *netConn) writeLoop() {
	defer close(nc.writerGone)
	for {
		select {
		case b := <-nc.job:
			if err := nc.c.WriteMessage(nc.typ, b); err != nil {
				nc.writeErr = fmt.Errorf("websocket: net.Conn write: %w", err)
			}
			nc.writeToken <- struct{}{}
		case <-nc.closed:
			return
		case <-nc.c.Done():
			return
		}
	}
}

// acquire takes a token from lock, failing at once when the deadline has
// passed, as a socket does even with room to write, or waiting until the deadline passes,
// Close is called or the connection ends. A connection that ended gives
// the token back to its reader or writer to report.
func (nc *netConn) acquire(lock chan struct{}, d *streamDeadline, op string) error {
	if isClosed(d.wait()) {
		return nc.opError(op, os.ErrDeadlineExceeded)
	}
	var gone <-chan struct{}
	if op == "write" {
		gone = nc.writerGone // the token may be lost with the writer
	}
	select {
	case <-lock:
		return nil
	case <-d.wait():
		return nc.opError(op, os.ErrDeadlineExceeded)
	case <-nc.closed:
		return nc.opError(op, net.ErrClosed)
	case <-gone:
		return fmt.Errorf("websocket: net.Conn write: %w", nc.c.writeClosedErr())
	}
}

// opError reports err as net does: a *net.OpError, a net.Error whose
// Timeout is that of err.
func (nc *netConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "websocket", Source: nc.c.LocalAddr(), Addr: nc.c.RemoteAddr(), Err: err}
}

// Close runs the closing handshake with StatusNormalClosure once the
// bytes already written have gone out; blocked Reads and Writes return at
// once with an error wrapping net.ErrClosed. The wait for the last Write
// is bounded by the close timeout; a peer that does not take it in time
// is dropped (ErrCloseTimeout). It returns nil when the connection ends
// cleanly, also when it had already ended or begun closing, and an error
// wrapping net.ErrClosed when called again. See NetConn.
func (nc *netConn) Close() error {
	if nc.closes.Swap(true) {
		return nc.opError("close", net.ErrClosed)
	}
	close(nc.closed)
	// The deadlines' timers end with the adapter, not when they fire.
	nc.readDeadline.set(time.Time{})
	nc.writeDeadline.set(time.Time{})
	flushed := time.NewTimer(nc.c.closeTimeout)
	defer flushed.Stop()
	select {
	case <-nc.writeToken:
	case <-nc.writerGone:
	case <-nc.c.Done():
	case <-flushed.C:
		_ = nc.c.Terminate()
		return fmt.Errorf("websocket: net.Conn close: the last write did not go out: %w", ErrCloseTimeout)
	}
	err := nc.c.Close(StatusNormalClosure, "")
	if errors.Is(err, net.ErrClosed) {
		<-nc.c.Done()
		return nil
	}
	return err
}

// LocalAddr returns the Conn's local address.
func (nc *netConn) LocalAddr() net.Addr { return nc.c.LocalAddr() }

// RemoteAddr returns the Conn's peer address.
func (nc *netConn) RemoteAddr() net.Addr { return nc.c.RemoteAddr() }

// SetDeadline sets both deadlines. See NetConn.
func (nc *netConn) SetDeadline(t time.Time) error {
	nc.readDeadline.set(t)
	nc.writeDeadline.set(t)
	return nil
}

// SetReadDeadline sets when a blocked or future Read returns a timeout;
// the zero time means never. See NetConn.
func (nc *netConn) SetReadDeadline(t time.Time) error {
	nc.readDeadline.set(t)
	return nil
}

// SetWriteDeadline sets when a blocked or future Write returns a timeout;
// the zero time means never. See NetConn.
func (nc *netConn) SetWriteDeadline(t time.Time) error {
	nc.writeDeadline.set(t)
	return nil
}
