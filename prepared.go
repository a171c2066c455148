package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"
)

// PreparedMessage is a message framed once, and compressed at most once,
// for writing to any number of connections: a chat room, a price feed, a
// game state pushed to every player. Writing it to a connection copies and
// compresses nothing: on a server the frame goes out as it was built; a
// client masks a copy, as it must for every frame it sends.
//
// Compression follows each connection's: a connection without
// permessage-deflate, with compression turned off (SetWriteCompression),
// or for which the message is below its CompressionThreshold gets the
// plain frame; one that compresses without context takeover
// (CompressionNoContextTakeover) gets the message deflated once for all
// of them. One with context takeover compresses the message for itself,
// as WriteMessage does: its compressed bytes depend on what it sent
// before, so they cannot be shared.
//
// A PreparedMessage holds its payload and, once a connection has needed
// it, its compressed form; it never changes, and is safe to write from
// any number of goroutines to any number of connections at once.
type PreparedMessage struct {
	typ   MessageType
	plain preparedFrame

	// deflated holds the message compressed, by window size: 2^8 to
	// 2^15 bytes, as the peers asked.
	deflated [maxWindowBits - minWindowBits + 1]struct {
		once  sync.Once
		frame preparedFrame
	}
}

// preparedFrame is one encoding of a prepared message: a whole frame, as
// a server sends it.
type preparedFrame struct {
	frame []byte // the header, then the payload
	hn    int    // the header's length
}

func (f *preparedFrame) payload() []byte { return f.frame[f.hn:] }

// newPreparedFrame builds the final frame of one message with payload p.
func newPreparedFrame(op opcode, rsv byte, p []byte) preparedFrame {
	var hdr [maxHeaderSize]byte
	hn := putHeader(&hdr, header{fin: true, rsv: rsv, op: op, length: int64(len(p))})
	frame := make([]byte, hn+len(p))
	copy(frame, hdr[:hn])
	copy(frame[hn:], p)
	return preparedFrame{frame: frame, hn: hn}
}

// NewPreparedMessage prepares data as a message of type typ. It keeps a
// copy of data, so the caller may reuse its slice. A text message must be
// valid UTF-8: the error wraps ErrInvalidUTF8 otherwise. Safe from any
// goroutine.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	op, err := typ.opcode()
	if err != nil {
		return nil, err
	}
	if typ == TextMessage && !validUTF8(data) {
		return nil, fmt.Errorf("websocket: prepared message: %w", ErrInvalidUTF8)
	}
	return &PreparedMessage{typ: typ, plain: newPreparedFrame(op, 0, data)}, nil
}

// Type returns the message's type. Safe from any goroutine.
func (pm *PreparedMessage) Type() MessageType { return pm.typ }

// Len returns the length of the message's payload, uncompressed. Safe
// from any goroutine.
func (pm *PreparedMessage) Len() int { return len(pm.plain.payload()) }

// deflatedFrame returns the message compressed on its own, as
// permessage-deflate without context takeover sends it, within a window of
// 2^bits bytes: made by the first connection that needs it.
func (pm *PreparedMessage) deflatedFrame(bits int) *preparedFrame {
	v := &pm.deflated[bits-minWindowBits]
	v.once.Do(func() {
		var out bytes.Buffer
		fw := getFlateWriter(&out, bits)
		_, _ = fw.Write(pm.plain.payload()) // a bytes.Buffer does not fail
		_ = fw.Flush()
		putFlateWriter(fw, bits)
		// [RFC7692 7.2.1]: the sync flush's empty block stays off the wire.
		compressed := bytes.TrimSuffix(out.Bytes(), deflateTail[:])
		op, _ := pm.typ.opcode()
		v.frame = newPreparedFrame(op, rsv1, compressed)
	})
	return &v.frame
}

var errNilPrepared = errors.New("websocket: write of a nil PreparedMessage")

// WritePreparedMessage sends pm, as WriteMessage would send its data;
// see PreparedMessage for what is shared between connections. Errors are
// those of WriteMessage. Safe from any number of goroutines; see Conn.
func (c *Conn) WritePreparedMessage(pm *PreparedMessage) error {
	if pm == nil {
		return errNilPrepared
	}
	if !c.msgLock.lock(c.done) {
		return c.writeClosedErr()
	}
	return c.writePreparedLocked(pm, time.Time{})
}

// sharedFrame returns the frame of pm that c sends as it is, with its
// RSV bits, or ok false when c must compress pm for itself (context
// takeover).
func (c *Conn) sharedFrame(pm *PreparedMessage) (f *preparedFrame, rsv byte, ok bool) {
	if d := c.deflate; d != nil && d.enabled.Load() && pm.Len() >= d.threshold {
		if !d.params.localNoContext {
			return nil, 0, false
		}
		return pm.deflatedFrame(d.params.windowBits()), rsv1, true
	}
	return &pm.plain, 0, true
}

// sharesFrames reports whether c, a server, sends every one of pms as
// it was prepared, so that they can go out together.
func (c *Conn) sharesFrames(pms []*PreparedMessage) bool {
	if c.role == roleClient {
		return false // it masks each frame
	}
	for _, pm := range pms {
		if _, _, ok := c.sharedFrame(pm); !ok {
			return false
		}
	}
	return true
}

// writePreparedLocked sends pm, its writes bounded by bound as well when
// that is not zero (see Broadcast). The caller holds msgLock, which it
// releases.
func (c *Conn) writePreparedLocked(pm *PreparedMessage, bound time.Time) error {
	if !bound.IsZero() {
		c.writeBound = bound.UnixNano()
	}
	f, rsv, ok := c.sharedFrame(pm)
	op, _ := pm.typ.opcode()
	if !ok {
		// Compressed for this connection alone: see PreparedMessage.
		return c.writeCompressedLocked(op, pm.typ, pm.plain.payload())
	}
	defer func() {
		c.writeBound = 0
		c.msgLock.unlock()
	}()
	var err error
	if c.role == roleClient {
		// Masked into a buffer of the Conn's: the frame stays as it is.
		err = c.writeData(op, true, nil, 0, f.payload(), rsv)
	} else if err = c.writeFrame(f.frame); err == nil && c.counts != nil {
		c.counts.frameOut(true, rsv != 0, len(f.payload())) // writeData counts its own
	}
	if cc := c.counts; cc != nil && err == nil && rsv != 0 {
		cc.deflatedBytesOut.Add(uint64(pm.Len()))
	}
	return err
}

// A run of prepared frames goes out gathered into one buffer up to
// runBufSize, so that small messages cost one system call together;
// a frame above runCopyMax goes out on its own, where copying it would
// cost more than the call it saves.
const (
	runBufSize = 64 << 10
	runCopyMax = 16 << 10
)

var runBufs = sync.Pool{New: func() any { b := make([]byte, 0, runBufSize); return &b }}

// writePreparedRunLocked sends pms, whose frames c shares (sharesFrames),
// back to back with nothing between them, within bound. The caller holds
// msgLock, which it releases.
func (c *Conn) writePreparedRunLocked(pms []*PreparedMessage, bound time.Time) error {
	c.writeBound = bound.UnixNano()
	defer func() {
		c.writeBound = 0
		c.msgLock.unlock()
	}()
	if !c.frameLock.lock(c.done) {
		return c.writeClosedErr()
	}
	defer c.frameLock.unlock()
	if c.closing.Load() || c.writeBroken {
		return c.writeClosedErr()
	}
	bp := runBufs.Get().(*[]byte)
	defer runBufs.Put(bp)
	buf := (*bp)[:0]
	for _, pm := range pms {
		f, _, _ := c.sharedFrame(pm)
		large := len(f.frame) > runCopyMax
		if len(buf) > 0 && (large || len(buf)+len(f.frame) > runBufSize) {
			if err := c.writeBounded(buf); err != nil {
				return c.writeFailed(err)
			}
			buf = buf[:0]
		}
		if large {
			if err := c.writeBounded(f.frame); err != nil {
				return c.writeFailed(err)
			}
			continue
		}
		buf = append(buf, f.frame...)
	}
	*bp = buf[:0]
	if len(buf) > 0 {
		if err := c.writeBounded(buf); err != nil {
			return c.writeFailed(err)
		}
	}
	if cc := c.counts; cc != nil {
		for _, pm := range pms {
			f, rsv, _ := c.sharedFrame(pm)
			cc.frameOut(true, rsv != 0, len(f.payload()))
			if rsv != 0 {
				cc.deflatedBytesOut.Add(uint64(pm.Len()))
			}
		}
	}
	return nil
}
