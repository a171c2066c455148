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

// compressing reports whether c compresses its messages now
// (permessage-deflate negotiated and not turned off). A message, or a
// broadcast's run of messages, reads it once, so that SetWriteCompression
// from another goroutine changes the next one, never half of one.
func (c *Conn) compressing() bool {
	d := c.deflate
	return d != nil && d.enabled.Load()
}

// sharedFrame returns the frame of pm that c sends as it is, with its
// RSV bits, when c compresses or not (compressing), or ok false when c
// must compress pm for itself (context takeover).
func (c *Conn) sharedFrame(pm *PreparedMessage, compress bool) (f *preparedFrame, rsv byte, ok bool) {
	if d := c.deflate; compress && pm.Len() >= d.threshold {
		if !d.params.localNoContext {
			return nil, 0, false
		}
		return pm.deflatedFrame(d.params.windowBits()), rsv1, true
	}
	return &pm.plain, 0, true
}

// writePreparedLocked sends pm, its writes bounded by bound as well when
// that is not zero (see Broadcast). The caller holds msgLock, which it
// releases.
func (c *Conn) writePreparedLocked(pm *PreparedMessage, bound time.Time) error {
	if !bound.IsZero() {
		c.writeBound = bound.UnixNano()
	}
	f, rsv, ok := c.sharedFrame(pm, c.compressing())
	op, _ := pm.typ.opcode()
	if !ok {
		// Compressed for this connection alone: see PreparedMessage.
		return c.writeCompressedLocked(op, pm.typ, pm.plain.payload())
	}
	defer func() {
		c.writeBound = 0
		c.msgLock.unlock()
	}()
	if c.role == roleClient {
		// Masked into a buffer of the Conn's: the frame stays as it is.
		// writeData counts the frame; what it was before compression is
		// the prepared message's to count.
		err := c.writeData(op, true, nil, 0, f.payload(), rsv)
		if cc := c.counts; cc != nil && err == nil && rsv != 0 {
			cc.deflatedBytesOut.Add(uint64(pm.Len()))
		}
		return err
	}
	if err := c.writeFrame(f.frame); err != nil {
		return err
	}
	c.countPrepared(pm, f, rsv)
	return nil
}

// countPrepared counts pm, sent by a server as the frame f, in c's
// statistics.
func (c *Conn) countPrepared(pm *PreparedMessage, f *preparedFrame, rsv byte) {
	cc := c.counts
	if cc == nil {
		return
	}
	cc.frameOut(true, rsv != 0, len(f.payload()))
	if rsv != 0 {
		cc.deflatedBytesOut.Add(uint64(pm.Len()))
	}
}
