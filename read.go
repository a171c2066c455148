package websocket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
)

// readState is where the read path stands in the frame and message being
// read. It is guarded by Conn.readLock.
type readState struct {
	// The data frame being read.
	remaining int64 // payload bytes not read yet
	masked    bool
	maskKey   [4]byte
	maskPos   int

	// The message being read.
	fragmented bool // the last data frame was not final: a continuation must follow
	msgType    MessageType
	msgSize    int64 // payload bytes announced so far, for the read limit
	utf8       utf8Validator
	gen        uint64 // counts messages, so that a reader of an older one is refused
	discarded  bool   // Close drained part of this message
	compressed bool   // the message is deflated (RSV1 on its first frame)
}

// messageDone reports whether the current message has been read whole.
func (rd *readState) messageDone() bool { return rd.remaining == 0 && !rd.fragmented }

// nextFrame reads one frame header and, for a control frame, its payload,
// which it acts on. It reports whether a data frame's payload is now
// ready to read. The caller holds readLock.
func (c *Conn) nextFrame() (data bool, err error) {
	if c.br.Buffered() == 0 {
		// The wait for a frame's first byte is an idle peer's, which the
		// frame timer leaves alone.
		if _, err := c.br.Peek(1); err != nil {
			return false, err
		}
	}
	c.beginFrame()
	h, err := readHeader(c.br)
	if err != nil {
		return false, err
	}
	var allowedRSV byte
	if c.deflate != nil {
		allowedRSV = rsv1
	}
	if err := checkHeader(h, c.role, allowedRSV); err != nil {
		return false, err
	}
	if h.op.isControl() {
		return false, c.handleControl(h)
	}
	rd := &c.rd
	if h.op == opContinuation {
		if !rd.fragmented {
			return false, protocolErrorf(ErrProtocol, "continuation frame with no message to continue")
		}
		// [RFC7692 6.1]: RSV1 marks only a message's first frame.
		if h.rsv&rsv1 != 0 {
			return false, protocolErrorf(ErrProtocol, "RSV1 on a continuation frame")
		}
	} else {
		if rd.fragmented {
			return false, protocolErrorf(ErrProtocol, "new message inside a fragmented message")
		}
		rd.msgType = MessageType(h.op)
		rd.msgSize = 0
		rd.utf8 = utf8Validator{}
		rd.gen++
		rd.discarded = false
		rd.compressed = h.rsv&rsv1 != 0
	}
	// The limit is checked on the announced length, before any of the
	// payload is read: a header claiming 2^62 bytes allocates nothing. A
	// compressed message is held to its inflated size by inflate; on the
	// wire it may be longer, by deflate's overhead on data that does not
	// shrink (zlib's Huffman blocks on random bytes: a fraction of a
	// percent), so it gets an eighth more, which still bounds what a peer
	// can send for nothing.
	if limit := c.readLimit.Load(); limit > 0 {
		wireLimit := limit
		if rd.compressed {
			wireLimit += limit>>3 + 1024
		}
		if h.length > wireLimit-rd.msgSize {
			return false, protocolErrorf(ErrMessageTooBig, "message of over %d bytes exceeds the read limit", limit)
		}
	}
	rd.msgSize += h.length
	rd.remaining = h.length
	if cc := c.counts; cc != nil {
		cc.frameIn(h.op != opContinuation, rd.compressed, h.length)
	}
	if h.length == 0 {
		c.endFrame()
	}
	rd.masked, rd.maskKey, rd.maskPos = h.masked, h.maskKey, 0
	rd.fragmented = !h.fin
	if rd.messageDone() && rd.msgType == TextMessage && !rd.compressed && !rd.utf8.complete() {
		return false, protocolErrorf(ErrInvalidUTF8, "text message ends inside a character")
	}
	return true, nil
}

// handleControl reads a control frame's payload and acts on it.
func (c *Conn) handleControl(h header) error {
	// The payload is used where it lies in the read buffer (at most 125
	// bytes, which the buffer always holds), and skipped once acted on.
	p, err := c.br.Peek(int(h.length))
	if err != nil {
		return unexpectedEOF(err, 1)
	}
	c.endFrame()
	defer func() { _, _ = c.br.Discard(len(p)) }()
	if h.masked {
		mask(h.maskKey, 0, p)
	}
	switch h.op {
	case opPing:
		// [RFC6455 5.5.2]: answered "as soon as is practical", also
		// between the fragments of a message and while our close frame
		// waits for the peer's.
		_ = c.writeControl(opPong, p, "", nil)
	case opPong:
		c.gotPong(p)
		if h := c.pongHandler.Load(); h != nil {
			if err := (*h)(string(p)); err != nil {
				return &handlerError{err}
			}
		}
	case opClose:
		return c.handleCloseFrame(p)
	}
	return nil
}

// readPayload reads the current data frame's payload into p, unmasks it
// and checks it. The caller holds readLock and c.rd.remaining > 0.
func (c *Conn) readPayload(p []byte) (int, error) {
	rd := &c.rd
	if int64(len(p)) > rd.remaining {
		p = p[:rd.remaining]
	}
	n, err := c.br.Read(p)
	if n > 0 {
		if rd.masked {
			rd.maskPos = mask(rd.maskKey, rd.maskPos, p[:n])
		}
		rd.remaining -= int64(n)
		if rd.remaining == 0 {
			c.endFrame()
		}
		if rd.msgType == TextMessage {
			// [RFC6455 8.1]: fail "as soon as" invalid UTF-8 is seen, not
			// at the end of the message.
			if !rd.utf8.feed(p[:n]) {
				return 0, protocolErrorf(ErrInvalidUTF8, "text message is not UTF-8")
			}
			if rd.messageDone() && !rd.utf8.complete() {
				return 0, protocolErrorf(ErrInvalidUTF8, "text message ends inside a character")
			}
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// skipFrame discards the rest of the current data frame's payload, or reads
// the next frame when there is none. The caller holds readLock.
func (c *Conn) skipFrame() error {
	rd := &c.rd
	if rd.remaining == 0 {
		_, err := c.nextFrame()
		return err
	}
	n := rd.remaining
	if n > 1<<30 {
		n = 1 << 30
	}
	discarded, err := c.br.Discard(int(n))
	rd.remaining -= int64(discarded)
	if rd.remaining == 0 {
		c.endFrame()
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// discardFrame is Close's step of reading while nobody else does: it
// discards one frame's worth and reports whether the connection has ended.
// The caller holds readLock.
func (c *Conn) discardFrame() (ended bool) {
	if c.rd.remaining > 0 || c.rd.fragmented {
		c.rd.discarded = true
	}
	if err := c.skipFrame(); err != nil {
		c.readFailed(err)
		return true
	}
	return false
}

// beginRead and endRead bracket a read method, so that Close can tell
// whether an application reader is there to receive the peer's messages.
func (c *Conn) beginRead() {
	c.readers.Add(1)
	if !c.hasRead.Load() {
		c.hasRead.Store(true)
	}
}

func (c *Conn) endRead() {
	if c.readers.Add(-1) == 0 && c.closing.Load() {
		select {
		case c.readerLeft <- struct{}{}:
		default:
		}
	}
}

// ended reports whether the connection has ended.
func (c *Conn) ended() bool { return c.hasEnded.Load() }

// NextReader waits for the next data message and returns its type and a
// reader of its payload, which returns io.EOF at the end of the message
// and is valid until the next call. Any part of the previous message that
// was not read is discarded. Pings
// are answered and close frames acted on while waiting.
//
// Once the connection has ended it returns the same error on every call: a
// *CloseError (the peer's close, or StatusAbnormalClosure) or, when the
// peer broke the protocol, an error wrapping ErrProtocol, ErrInvalidUTF8,
// ErrMessageTooBig or ErrBadCompressedData.
//
// One goroutine at a time may read; see Conn.
func (c *Conn) NextReader() (MessageType, io.Reader, error) {
	c.beginRead()
	defer c.endRead()
	typ, gen, err := c.nextMessage()
	if err != nil {
		return 0, nil, err
	}
	// Two readers alternate, so that the reader of the previous message
	// is told apart from this one without an allocation per message.
	return typ, &c.msgReaders[gen&1], nil
}

// nextMessage is NextReader without the reader: it returns the type of
// the next message and its generation.
func (c *Conn) nextMessage() (typ MessageType, gen uint64, err error) {
	if !c.readLock.lock(c.done) {
		return 0, 0, c.terminalError()
	}
	defer c.readLock.unlock()
	if typ, err = c.nextMessageLocked(); err != nil {
		return 0, 0, err
	}
	c.msgReaders[c.rd.gen&1] = messageReader{c: c, gen: c.rd.gen}
	return typ, c.rd.gen, nil
}

// nextMessageLocked skips what is left of the current message and reads
// up to the first data frame of the next. The caller holds readLock.
func (c *Conn) nextMessageLocked() (MessageType, error) { return c.nextMessageUntil(false) }

// nextMessageUntil is nextMessageLocked that, with untilIdle, returns
// errIdle where it would wait for the next frame to begin. The caller
// holds readLock.
func (c *Conn) nextMessageUntil(untilIdle bool) (MessageType, error) {
	if c.ended() {
		return 0, c.endedError()
	}
	if c.rd.compressed {
		if err := c.skipCompressedLocked(); err != nil {
			return 0, c.readFailed(err)
		}
	}
	for !c.rd.messageDone() {
		if err := c.skipFrame(); err != nil {
			return 0, c.readFailed(err)
		}
	}
	for {
		if untilIdle && !c.br.tryFill() {
			if !c.closing.Load() {
				return 0, errIdle
			}
			// Close waits for the peer's close frame: read on, as a
			// reader inside NextReader would.
			untilIdle = false
		}
		data, err := c.nextFrame()
		if err != nil {
			return 0, c.readFailed(err)
		}
		if data {
			return c.rd.msgType, nil
		}
	}
}

// ReadMessage reads the next data message whole, within the read limit.
// When the message is one frame of at most 64 KiB, the returned slice is
// its only allocation; larger messages grow the slice as their bytes
// arrive, so that a header alone never allocates more than 64 KiB. Errors
// are those of NextReader. One goroutine at a time may read; see Conn.
func (c *Conn) ReadMessage() (MessageType, []byte, error) {
	c.beginRead()
	defer c.endRead()
	if !c.readLock.lock(c.done) {
		return 0, nil, c.terminalError()
	}
	defer c.readLock.unlock()
	typ, err := c.nextMessageLocked()
	if err != nil {
		return 0, nil, err
	}
	if c.rd.compressed {
		return c.readInflatedLocked(typ)
	}
	var b []byte
	for {
		if c.rd.remaining == 0 {
			if !c.rd.fragmented {
				if b == nil {
					b = []byte{}
				}
				return typ, b, nil
			}
			if _, err := c.nextFrame(); err != nil {
				return 0, nil, c.readFailed(err)
			}
			continue
		}
		if len(b) == cap(b) {
			grow := int(min(c.rd.remaining, int64(max(cap(b), maxFirstAlloc))))
			if b == nil {
				b = make([]byte, 0, grow)
			} else {
				b = slices.Grow(b, grow)
			}
		}
		n, err := c.readPayload(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			return 0, nil, c.readFailed(err)
		}
	}
}

// readInflatedLocked is ReadMessage for a compressed message. Output is
// gathered in pooled chunks and copied once into a slice of its exact
// size, so that a message that inflates past the read limit is stopped
// with nothing allocated for it but the chunks in flight. The caller holds
// readLock.
func (c *Conn) readInflatedLocked(typ MessageType) (MessageType, []byte, error) {
	var chunks []*[]byte
	defer func() {
		for _, ch := range chunks {
			inflatePool.put(ch)
		}
	}()
	total, last := 0, 0 // bytes in all chunks, and in the last one
	for {
		if len(chunks) == 0 || last == inflatePool.size {
			chunks = append(chunks, inflatePool.get())
			last = 0
		}
		n, err := c.inflate((*chunks[len(chunks)-1])[last:])
		last += n
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, c.readFailed(err)
		}
	}
	b := make([]byte, 0, total)
	for _, ch := range chunks {
		b = append(b, (*ch)[:min(inflatePool.size, total-len(b))]...)
	}
	return typ, b, nil
}

// inflatePool holds the chunks ReadMessage inflates into.
var inflatePool = poolFor(16 << 10)

// maxFirstAlloc bounds what ReadMessage allocates on a frame's announced
// length before its bytes arrive.
const maxFirstAlloc = 64 << 10

// messageReader reads one message's payload across its frames.
type messageReader struct {
	c   *Conn
	gen uint64
}

var (
	errStaleReader = errors.New("websocket: read from the reader of an earlier message")
	errDiscarded   = fmt.Errorf("websocket: the rest of the message was discarded by Close: %w", net.ErrClosed)
)

// Read reads the message's payload. It returns io.EOF at its end, and the
// connection's error if it ends first. One goroutine at a time may read;
// see Conn.
func (r *messageReader) Read(p []byte) (int, error) {
	c := r.c
	c.beginRead()
	if !c.readLock.lock(c.done) {
		c.endRead()
		return 0, c.terminalError()
	}
	n, err := r.readLocked(p)
	c.readLock.unlock()
	c.endRead()
	return n, err
}

// WriteTo writes the rest of the message to w. When w is the writer of a
// message of this package, as in an echo with io.Copy, the payload is read
// straight into that writer's buffer; otherwise through a pooled one.
// Either way io.Copy allocates nothing.
func (r *messageReader) WriteTo(w io.Writer) (int64, error) {
	if mw, ok := w.(*messageWriter); ok {
		return mw.ReadFrom(readOnly{r})
	}
	buf := inflatePool.get()
	defer inflatePool.put(buf)
	return io.CopyBuffer(w, readOnly{r}, *buf)
}

// atEOF reports whether the next Read would return io.EOF.
func (r *messageReader) atEOF() bool {
	c := r.c
	if !c.readLock.lock(c.done) {
		return false
	}
	defer c.readLock.unlock()
	return r.gen == c.rd.gen && !c.rd.compressed && c.rd.messageDone()
}

// readOnly hides WriteTo, so that io.CopyBuffer and ReadFrom use Read. One
// pointer wide, it converts to io.Reader without an allocation.
type readOnly struct{ r *messageReader }

func (o readOnly) Read(p []byte) (int, error) { return o.r.Read(p) }

// readLocked is Read with readLock held. (Read takes the lock without a
// defer: this is the path every byte of a message goes through.)
func (r *messageReader) readLocked(p []byte) (int, error) {
	c := r.c
	if r.gen != c.rd.gen {
		return 0, errStaleReader
	}
	if c.rd.discarded {
		return 0, errDiscarded
	}
	if c.ended() {
		return 0, c.endedError()
	}
	if c.rd.compressed {
		if len(p) == 0 {
			return 0, nil
		}
		n, err := c.inflate(p)
		if err != nil && err != io.EOF {
			return 0, c.readFailed(err)
		}
		return n, err
	}
	for c.rd.remaining == 0 {
		if !c.rd.fragmented {
			return 0, io.EOF
		}
		if _, err := c.nextFrame(); err != nil {
			return 0, c.readFailed(err)
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.readPayload(p)
	if err != nil {
		return 0, c.readFailed(err)
	}
	return n, nil
}
