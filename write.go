package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
)

// writeClosedErr is what a write returns once the closing handshake has
// started or the connection has ended: net.ErrClosed, and the cause of an
// end that was not clean, so that the failure is sticky.
func (c *Conn) writeClosedErr() error {
	if c.ended() {
		if cause := c.CloseEvent().Err; cause != nil {
			return fmt.Errorf("websocket: write: %w: %w", net.ErrClosed, cause)
		}
	}
	return fmt.Errorf("websocket: write: %w", net.ErrClosed)
}

// WriteMessage sends data as one message of type typ, in one frame. A text
// message must be valid UTF-8 (ErrInvalidUTF8 otherwise, and nothing is
// sent). Once Close has been called, or the connection has ended, it
// returns an error wrapping net.ErrClosed. Safe from any number of
// goroutines; see Conn.
func (c *Conn) WriteMessage(typ MessageType, data []byte) error {
	if _, err := typ.opcode(); err != nil {
		return err
	}
	if typ == TextMessage && !validUTF8(data) {
		return fmt.Errorf("websocket: write: %w", ErrInvalidUTF8)
	}
	return c.writeMessage(typ, data)
}

// writeMessage is WriteMessage once its arguments are checked.
func (c *Conn) writeMessage(typ MessageType, data []byte) error {
	op, _ := typ.opcode()
	if !c.msgLock.lock(c.done) {
		return c.writeClosedErr()
	}
	if d := c.deflate; d != nil && d.enabled.Load() && len(data) >= d.threshold {
		return c.writeCompressedLocked(op, typ, data)
	}
	defer c.msgLock.unlock()
	if len(data) > c.wpool.size-maxHeaderSize {
		return c.writeData(op, true, nil, 0, data, 0)
	}
	// Small messages go out in one write, header and payload together,
	// from a buffer that goes back to the pool right after.
	buf := c.wpool.get()
	n := copy((*buf)[maxHeaderSize:], data)
	err := c.writeData(op, true, *buf, n, nil, 0)
	c.wpool.put(buf)
	return err
}

// writeCompressedLocked sends data, checked, as one compressed message,
// through a message writer, whose Close releases msgLock. The caller
// holds msgLock.
func (c *Conn) writeCompressedLocked(op opcode, typ MessageType, data []byte) error {
	w := c.startMessage(op, typ)
	w.text = false
	_, err := w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// NextWriter starts a message of type typ and returns a writer for its
// payload. Writes are buffered and go out as fragments of the message; the
// writer's Close sends the final fragment. Other writers wait until then,
// while control frames (pongs, a close frame) still go out between
// fragments. A text message must be valid UTF-8 across its writes. Errors
// are those of WriteMessage. The writer is valid until its Close. Safe from
// any number of goroutines; see Conn.
func (c *Conn) NextWriter(typ MessageType) (io.WriteCloser, error) {
	op, err := typ.opcode()
	if err != nil {
		return nil, err
	}
	if !c.msgLock.lock(c.done) {
		return nil, c.writeClosedErr()
	}
	if c.closing.Load() {
		c.msgLock.unlock()
		return nil, c.writeClosedErr()
	}
	return c.startMessage(op, typ), nil
}

// startMessage sets up the writer of a message, compressed when that was
// negotiated and is enabled. The caller holds msgLock, which the writer's
// Close releases.
func (c *Conn) startMessage(op opcode, typ MessageType) *messageWriter {
	// Two writers alternate, so that a writer already closed stays closed
	// without an allocation per message.
	w := &c.msgWriters[c.writers&1]
	c.writers++
	*w = messageWriter{c: c, op: op, text: typ == TextMessage}
	if d := c.deflate; d != nil && d.enabled.Load() {
		// A compressed message gathers its output in the stream buffer,
		// so that up to 64 KiB of it leaves as one frame.
		w.buf, w.pool = streamPool.get(), streamPool
		w.rsv = rsv1
		w.fw = c.compressor(w)
	} else {
		w.buf = c.wpool.get()
	}
	return w
}

// messageWriter streams one message; it holds c.msgLock and a pooled
// buffer until Close.
type messageWriter struct {
	c      *Conn
	buf    *[]byte       // maxHeaderSize of headroom, then the payload buffered
	pool   *bufferPool   // where buf goes back; nil for the Conn's write pool
	op     opcode        // of the next frame: the message's type, then continuation
	rsv    byte          // of the next frame: RSV1 on the first of a compressed message
	fw     *flate.Writer // the compressor, writing to buf; nil for no compression
	text   bool
	utf8   utf8Validator
	n      int // payload bytes buffered after the headroom
	err    error
	closed bool
}

var errWriterClosed = errors.New("websocket: write to a closed message writer")

// Write buffers p, sending full buffers as fragments.
func (w *messageWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errWriterClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.text && !w.utf8.feed(p) {
		w.err = fmt.Errorf("websocket: write: %w", ErrInvalidUTF8)
		return 0, w.err
	}
	if w.fw != nil {
		n, err := w.fw.Write(p)
		w.c.deflate.compressed(p[:n])
		if cc := w.c.counts; cc != nil {
			cc.deflatedBytesOut.Add(uint64(n))
		}
		if err != nil {
			w.err = err
		}
		return n, err
	}
	room := (*w.buf)[maxHeaderSize:]
	if w.n == 0 && len(p) >= len(room) {
		if w.c.role == roleServer {
			// Large writes go out as they are, one frame in one system
			// call, instead of a buffer's worth at a time.
			if err := w.c.writeData(w.op, false, nil, 0, p, w.rsv); err != nil {
				w.err = err
				return 0, err
			}
			w.op, w.rsv = opContinuation, 0
			return len(p), nil
		}
		// A client copies its payload to mask it anyway: into a buffer of
		// 64 KiB, so that a message that fits leaves as one final frame
		// at Close, not a frame and an empty final one.
		w.useStreamBuffer()
		room = (*w.buf)[maxHeaderSize:]
	}
	written := 0
	for len(p) > 0 {
		if w.n == len(room) {
			if err := w.flush(false); err != nil {
				return written, err
			}
		}
		k := copy(room[w.n:], p)
		w.n += k
		p = p[k:]
		written += k
	}
	return written, nil
}

// ReadFrom streams r into the message until r's EOF, reading straight into
// a buffer of up to 64 KiB that leaves as one frame when full. io.Copy
// uses it, and allocates nothing.
func (w *messageWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.closed {
		return 0, errWriterClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.fw != nil {
		// The compressor takes the bytes; read them through a scratch.
		buf := inflatePool.get()
		defer inflatePool.put(buf)
		return io.CopyBuffer(writeOnly{w}, r, *buf)
	}
	if w.n > 0 {
		if err := w.flush(false); err != nil {
			return 0, err
		}
	}
	w.useStreamBuffer()
	room := (*w.buf)[maxHeaderSize:]
	var total int64
	for {
		if w.n == len(room) {
			if ro, ok := r.(readOnly); ok && ro.r.atEOF() {
				// The message fits the buffer exactly: Close sends it
				// as one final frame.
				return total, nil
			}
			if err := w.flush(false); err != nil {
				return total, err
			}
		}
		n, err := r.Read(room[w.n:])
		if w.text && !w.utf8.feed(room[w.n:w.n+n]) {
			w.err = fmt.Errorf("websocket: write: %w", ErrInvalidUTF8)
			return total, w.err
		}
		w.n += n
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// useStreamBuffer swaps the Conn's write buffer for one of 64 KiB, for as
// long as the message lasts. Only with nothing buffered.
func (w *messageWriter) useStreamBuffer() {
	if w.pool != streamPool {
		w.c.wpool.put(w.buf)
		w.buf, w.pool = streamPool.get(), streamPool
	}
}

// writeOnly hides ReadFrom, so that io.CopyBuffer uses Write. One pointer
// wide, it converts to io.Writer without an allocation.
type writeOnly struct{ w *messageWriter }

func (o writeOnly) Write(p []byte) (int, error) { return o.w.Write(p) }

// streamPool holds the buffers of ReadFrom.
var streamPool = poolFor(maxHeaderSize + 64<<10)

// Close sends the final fragment and lets other writers go on. It returns
// ErrInvalidUTF8 for a text message that ended inside a character.
func (w *messageWriter) Close() error {
	if w.closed {
		return errWriterClosed
	}
	w.closed = true
	defer w.release()
	if w.err != nil {
		return w.err
	}
	if w.fw != nil {
		// [RFC7692 7.2.1]: end the message with a sync flush, whose empty
		// stored block the wire leaves out.
		if err := w.fw.Flush(); err != nil {
			return err
		}
		payload := (*w.buf)[maxHeaderSize : maxHeaderSize+w.n]
		if !bytes.HasSuffix(payload, deflateTail[:]) {
			return errors.New("websocket: compressor output does not end with a sync flush")
		}
		w.n -= len(deflateTail)
	}
	if err := w.flush(true); err != nil {
		return err
	}
	if w.text && !w.utf8.complete() {
		return fmt.Errorf("websocket: write: text message ends inside a character: %w", ErrInvalidUTF8)
	}
	return nil
}

// release gives back what the writer holds, msgLock last.
func (w *messageWriter) release() {
	if w.fw != nil {
		w.c.releaseCompressor(w.fw)
		w.fw = nil
	}
	if w.pool != nil {
		w.pool.put(w.buf)
	} else {
		w.c.wpool.put(w.buf)
	}
	w.buf = nil
	w.c.writeBound = 0
	w.c.msgLock.unlock()
}

// abandon ends a message that nothing was written to, sending nothing.
func (w *messageWriter) abandon() {
	if !w.closed {
		w.closed = true
		w.release()
	}
}

func (w *messageWriter) flush(fin bool) error {
	err := w.c.writeData(w.op, fin, *w.buf, w.n, nil, w.rsv)
	w.op = opContinuation
	w.rsv = 0
	w.n = 0
	if err != nil {
		w.err = err
	}
	return err
}

// writeData writes one data frame, whose payload is either the first
// buffered bytes after buf's headroom, or data. For a buffered payload the
// header goes into the headroom, so that both leave in one write; data
// leaves with the header in one vectored write where the stream allows,
// or, from a client, masked through a pooled buffer. A client's payload
// is masked with a fresh key per frame (RFC 6455 section 5.3). The caller
// holds msgLock.
func (c *Conn) writeData(op opcode, fin bool, buf []byte, buffered int, data []byte, rsv byte) error {
	if !c.frameLock.lock(c.done) {
		return c.writeClosedErr()
	}
	defer c.frameLock.unlock()
	// [RFC6455 5.5.1]: "After sending a Close frame, the endpoint MUST NOT
	// send any more data frames."
	if c.closing.Load() || c.writeBroken {
		return c.writeClosedErr()
	}
	h := header{fin: fin, rsv: rsv, op: op, length: int64(buffered + len(data))}
	if c.role == roleClient {
		h.masked, h.maskKey = true, newMaskKey()
	}
	hn := putHeader(&c.hdr, h)
	var err error
	switch {
	case buf != nil:
		start := maxHeaderSize - hn
		copy(buf[start:], c.hdr[:hn])
		if h.masked {
			// The buffer is ours, a copy of the caller's bytes.
			mask(h.maskKey, 0, buf[maxHeaderSize:maxHeaderSize+buffered])
		}
		err = c.writeBounded(buf[start : maxHeaderSize+buffered])
	case h.masked:
		c.armDataWriteDeadline()
		err = c.writeMasked(c.hdr[:hn], h.maskKey, data)
		c.endDataWrite()
	default:
		c.armDataWriteDeadline()
		err = c.writeTwo(c.hdr[:hn], data)
		c.endDataWrite()
	}
	if err != nil {
		return c.writeFailed(err)
	}
	if cc := c.counts; cc != nil {
		cc.frameOut(op != opContinuation, rsv&rsv1 != 0, int(h.length))
	}
	return nil
}

// writeFrame writes whole frames of a server's built beforehand, headers
// and payloads, in one write, as they are: a PreparedMessage's, or a run
// of them (writePreparedRunLocked). The caller holds msgLock.
func (c *Conn) writeFrame(frame []byte) error {
	if !c.frameLock.lock(c.done) {
		return c.writeClosedErr()
	}
	defer c.frameLock.unlock()
	if c.closing.Load() || c.writeBroken {
		return c.writeClosedErr()
	}
	if err := c.writeBounded(frame); err != nil {
		return c.writeFailed(err)
	}
	return nil
}

// writeBounded writes p, a data frame or its whole wire form, within the
// data write's bound. When the bound is one of ours (WriteTimeout, a
// broadcast's) rather than a deadline of the application's, what the
// socket takes at once goes out before any deadline is armed: only a
// write that has to wait arms one. The caller holds msgLock and
// frameLock.
func (c *Conn) writeBounded(p []byte) error {
	if (c.writeTimeout > 0 || c.writeBound != 0) && c.writeDeadline.Load() == 0 {
		n := writeNow(c.br.raw, p)
		if n == len(p) {
			return nil
		}
		p = p[n:]
	}
	c.armDataWriteDeadline()
	defer c.endDataWrite()
	_, err := c.stream.Write(p)
	return err
}

// writeVector is the scratch of a vectored write.
type writeVector struct {
	iov  [2][]byte
	bufs net.Buffers
}

var vectors = sync.Pool{New: func() any { return new(writeVector) }}

// writeTwo writes a header and a payload, as one delivery where the
// stream can (one system call on a socket, one flush on HTTP/2). The
// caller holds frameLock.
func (c *Conn) writeTwo(hdr, payload []byte) error {
	bw, ok := c.stream.(buffersWriter)
	if !ok {
		if _, err := c.stream.Write(hdr); err != nil {
			return err
		}
		_, err := c.stream.Write(payload)
		return err
	}
	// net.Buffers escapes into the socket's writev: a pooled one, so that
	// neither an allocation per write nor room in every Conn pays for it.
	v := vectors.Get().(*writeVector)
	v.iov = [2][]byte{hdr, payload}
	v.bufs = v.iov[:]
	_, err := bw.writeBuffers(&v.bufs)
	v.iov = [2][]byte{} // keep no reference to the caller's payload
	vectors.Put(v)
	return err
}

// writeControl writes one control frame, whose payload is payload
// followed by text (a close frame's code and reason). Once the closing
// handshake has started, only the close frame and pongs may go out:
// [RFC6455 5.5.2] asks for a pong to every ping until the peer's close
// frame arrives. Control frames are bounded by the WriteTimeout; once
// closing has started, also by the close timer, so a write deadline the
// application set is lifted for them. The wait for the lock ends when the
// connection ends or stop is closed (nil: never).
func (c *Conn) writeControl(
	op opcode, payload []byte, text string, stop <-chan struct{},
) error {
	if !c.frameLock.lockOr(c.done, stop) {
		if c.ended() {
			return c.writeClosedErr()
		}
		return errWriteStopped
	}
	defer c.frameLock.unlock()
	if (c.closing.Load() && op != opClose && op != opPong) || c.writeBroken {
		return c.writeClosedErr()
	}
	c.armWriteDeadline()
	if c.closing.Load() && c.writeDeadline.Swap(0) != 0 && c.writeTimeout == 0 {
		_ = c.stream.SetWriteDeadline(time.Time{})
	}
	// The frame is built in a pooled buffer: an array of the function's
	// own would escape through the stream's Write, one allocation per
	// control frame.
	b := controlFrames.Get().(*controlFrame)
	defer controlFrames.Put(b)
	h := header{fin: true, op: op, length: int64(len(payload) + len(text))}
	if c.role == roleClient {
		h.masked, h.maskKey = true, newMaskKey()
	}
	hn := putHeader((*[maxHeaderSize]byte)(b[:]), h)
	n := hn + copy(b[hn:], payload)
	n += copy(b[n:], text)
	if h.masked {
		mask(h.maskKey, 0, b[hn:n])
	}
	if _, err := c.stream.Write(b[:n]); err != nil {
		return c.writeFailed(err)
	}
	return nil
}

// controlFrame holds a control frame: header and the longest payload.
type controlFrame [maxHeaderSize + maxControlPayload]byte

var controlFrames = sync.Pool{New: func() any { return new(controlFrame) }}

// errWriteStopped is returned when the caller gave up waiting to write.
var errWriteStopped = errors.New("websocket: gave up waiting to write")

// armWriteDeadline bounds the write that follows by the WriteTimeout. The
// caller holds frameLock.
func (c *Conn) armWriteDeadline() {
	if c.writeTimeout > 0 {
		_ = c.stream.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	}
}

// writeFailed ends the connection after a failed write: part of a frame may
// have gone out, so nothing more can follow it. The caller holds frameLock.
func (c *Conn) writeFailed(err error) error {
	c.writeBroken = true
	side := SidePeer
	if errors.Is(err, os.ErrDeadlineExceeded) {
		side = SideLocal
		err = fmt.Errorf("%w: %w", ErrWriteTimeout, err)
	} else {
		err = fmt.Errorf("websocket: write: %w", err)
	}
	c.abort(err, side)
	return err
}
