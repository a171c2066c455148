package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
)

// Compression: permessage-deflate (RFC 7692), with
// github.com/klauspost/compress/flate, which compresses JSON-like messages
// about twice as fast as the standard library's compress/flate at the same
// level, for slightly smaller output, with a smaller compressor. An idle connection holds nothing for it: compressors and
// decompressors come from pools for one message and go back after it,
// unless the negotiated mode keeps a context between messages.

// CompressionMode selects permessage-deflate for an Upgrader or a Dialer.
type CompressionMode uint8

const (
	// CompressionDisabled declines every offer, and a Dialer offers
	// nothing: messages go uncompressed.
	CompressionDisabled CompressionMode = iota
	// CompressionNoContextTakeover compresses each message on its own and
	// asks the peer to do the same: nothing is held between messages,
	// so an idle connection costs what it costs without compression. A
	// Dialer offers "permessage-deflate; client_no_context_takeover;
	// server_no_context_takeover".
	CompressionNoContextTakeover
	// CompressionContextTakeover lets both sides compress each message
	// with the previous ones as a dictionary, for a better ratio on
	// repetitive traffic. A connection holds a compressor while it
	// writes, and once idle for a second or two only the last 32 KiB it
	// sent; it also holds the last 32 KiB of the peer's output. A Dialer
	// offers plain "permessage-deflate" and keeps to what the server
	// answers.
	CompressionContextTakeover
)

// deflateTail ends every compressed message before it is stripped for the
// wire (RFC 7692 section 7.2.1): an empty stored block.
var deflateTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// windowSize is the most a deflate stream looks back.
const windowSize = 32 << 10

// defaultCompressionThreshold is the size below which WriteMessage sends
// messages uncompressed: deflate makes short messages longer.
const defaultCompressionThreshold = 128

// deflateState is a Conn's permessage-deflate, made when it is negotiated,
// so that a connection without it does not carry it; what a message needs
// comes from pools, and only context takeover keeps it between messages.
type deflateState struct {
	params    deflateParams
	threshold int
	enabled   atomic.Bool // SetWriteCompression

	inf *inflateState // guarded by readLock; nil between messages without context takeover

	// Guarded by msgLock. Under context takeover the compressor is kept
	// between messages while the connection writes, and sent always ends
	// with what it was given, to prime the next one once the sweeper has
	// taken it back (see compresswindow.go).
	fw      *flate.Writer
	cw      *messageWriter // the message the compressor's output goes to
	sent    sentTail
	wrote   bool // a compressed message since the sweeper last looked
	sweeper *compressorSweeper
}

// inflateState is what reading a compressed message takes.
type inflateState struct {
	fr     io.ReadCloser // the current message's decompressor; nil between messages
	window []byte        // the last output, the dictionary of the next message (context takeover)
	src    inflateSource
	srcBuf *bufio.Reader // src, buffered, for a message too large to hold at once
	out    int64         // decompressed bytes of the current message, for the read limit
	// whole holds a message that came as one frame of at most
	// wholeFrameMax bytes, unmasked and with its tail; wholeR reads it.
	whole  *[]byte
	wholeR bytes.Reader
}

// wholeFrameMax is the largest compressed frame read whole before it is
// inflated. The decompressor reads a *bytes.Reader faster than a
// *bufio.Reader (a fifth less CPU for a 64 KiB JSON message), and almost
// every compressed message is one frame of a few KiB.
const wholeFrameMax = 64 << 10

// wholeFrames are the buffers of such frames, each held for one message.
var wholeFrames = poolFor(wholeFrameMax + len(deflateTail))

// inflateStates pools the read side of messages without context takeover.
var inflateStates = sync.Pool{New: func() any { return new(inflateState) }}

// compressor returns the compressor of a message about to be written, its
// output going to w. The caller holds msgLock.
func (c *Conn) compressor(w *messageWriter) *flate.Writer {
	d := c.deflate
	d.cw = w
	bits := d.params.windowBits()
	if d.params.localNoContext {
		return getFlateWriter(compressedSink{c}, bits)
	}
	d.wrote = true
	if d.fw == nil {
		d.fw = getFlateWriter(compressedSink{c}, bits)
		if tail := d.sent.tail(); len(tail) > 0 {
			// What the peer's decompressor holds of ours: the new
			// compressor may refer back into it, as the old one did.
			d.fw.ResetDict(compressedSink{c}, tail)
		}
		d.sweeper.watch(c)
	}
	return d.fw
}

// compressed records what a message's compressor has been given, the
// dictionary of the messages after it under context takeover. The
// caller holds msgLock.
func (d *deflateState) compressed(p []byte) {
	if !d.params.localNoContext {
		d.sent.add(p)
	}
}

// releaseCompressor takes a message's compressor back. The caller holds
// msgLock.
func (c *Conn) releaseCompressor(fw *flate.Writer) {
	d := c.deflate
	d.cw = nil
	if fw != d.fw {
		putFlateWriter(fw, d.params.windowBits())
	}
}

// SetWriteCompression turns compression off (or back on) for the messages
// written from then on, when permessage-deflate was negotiated; a message
// that would not shrink can go out as it is. Safe from any goroutine.
func (c *Conn) SetWriteCompression(enabled bool) {
	if c.deflate != nil {
		c.deflate.enabled.Store(enabled)
	}
}

// Pools of compressors and decompressors: each holds hundreds of KiB, and
// a connection needs one only while it reads or writes a message.
var (
	flateWriters [maxWindowBits + 1]sync.Pool // *flate.Writer, by window bits
	flateReaders sync.Pool                    // io.ReadCloser that is a flate.Resetter
)

// getFlateWriter returns a compressor writing to w that refers no farther
// back than 2^bits bytes: flate.BestSpeed for the whole window, and for a
// smaller one klauspost's encoder with a window of that size, which is
// slower (and, on JSON-like messages, compresses better; see README).
func getFlateWriter(w io.Writer, bits int) *flate.Writer {
	if fw, ok := flateWriters[bits].Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	if bits < maxWindowBits {
		fw, _ := flate.NewWriterWindow(w, 1<<bits) // cannot fail for 8 to 14 bits
		return fw
	}
	fw, _ := flate.NewWriter(w, flate.BestSpeed) // cannot fail for a valid level
	return fw
}

// putFlateWriter gives back a compressor of getFlateWriter's.
func putFlateWriter(fw *flate.Writer, bits int) {
	// No hold on the last output, nor on a dictionary: Reset would
	// prime the next user's compressor with it.
	fw.ResetDict(io.Discard, nil)
	flateWriters[bits].Put(fw)
}

// bufioReaders buffer the compressed payload for a decompressor, which
// reads a *bufio.Reader much faster than any other io.ByteReader.
var bufioReaders sync.Pool

func getBufioReader(r io.Reader) *bufio.Reader {
	if br, ok := bufioReaders.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, 4096)
}

func getFlateReader(r io.Reader, dict []byte) io.ReadCloser {
	if fr, ok := flateReaders.Get().(io.ReadCloser); ok {
		_ = fr.(flate.Resetter).Reset(r, dict)
		return fr
	}
	return flate.NewReaderDict(r, dict)
}

// inflateSource feeds a decompressor the payload of a compressed message,
// across its frames, then the tail that the sender stripped, then io.EOF:
// so that a buffer in front of it reads no further than the message. The
// caller holds readLock.
type inflateSource struct {
	c    *Conn
	tail int // bytes of deflateTail served
}

func (s *inflateSource) Read(p []byte) (int, error) {
	c := s.c
	for c.rd.remaining == 0 {
		if !c.rd.fragmented {
			if s.tail < len(deflateTail) {
				n := copy(p, deflateTail[s.tail:])
				s.tail += n
				return n, nil
			}
			return 0, io.EOF
		}
		if _, err := c.nextFrame(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > c.rd.remaining {
		p = p[:c.rd.remaining]
	}
	n, err := c.br.Read(p)
	if c.rd.masked {
		c.rd.maskPos = mask(c.rd.maskKey, c.rd.maskPos, p[:n])
	}
	c.rd.remaining -= int64(n)
	if c.rd.remaining == 0 {
		c.endFrame()
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// inflate reads decompressed payload of the current message into p. It
// counts what it produces against the read limit and checks text as it
// comes. The caller holds readLock.
func (c *Conn) inflate(p []byte) (int, error) {
	d := c.deflate.inf
	if d == nil {
		d = inflateStates.Get().(*inflateState)
		c.deflate.inf = d
	}
	if d.fr == nil {
		d.src = inflateSource{c: c}
		d.out = 0
		if c.rd.fragmented || c.rd.remaining > wholeFrameMax {
			// The buffer reads no further than the message: src ends there.
			d.srcBuf = getBufioReader(&d.src)
			d.fr = getFlateReader(d.srcBuf, d.window)
		} else {
			if err := c.readWholeFrame(d); err != nil {
				return 0, err
			}
			d.fr = getFlateReader(&d.wholeR, d.window)
		}
	}
	n, err := d.fr.Read(p)
	switch {
	case err == io.EOF:
		// Deflate's final block has ended the stream. Only the tail we
		// appended may follow it: a byte of the peer's after it is not
		// part of the message, and fails it wherever it stands.
		if perr := d.checkRestIsTail(); perr != nil {
			return 0, perr
		}
	case err == io.ErrUnexpectedEOF && d.src.tail == len(deflateTail):
		// The stream stops after the tail, mid-stream as deflate sees it:
		// that is the end of the message.
		err = io.EOF
	case err != nil && isCorrupt(err):
		return 0, protocolErrorf(ErrBadCompressedData, "the data does not inflate")
	}
	if n > 0 {
		d.out += int64(n)
		if limit := c.readLimit.Load(); limit > 0 && d.out > limit {
			return 0, protocolErrorf(ErrMessageTooBig, "message inflates past the read limit of %d bytes", limit)
		}
		if c.rd.msgType == TextMessage && !c.rd.utf8.feed(p[:n]) {
			return 0, protocolErrorf(ErrInvalidUTF8, "text message is not UTF-8")
		}
		if !c.deflate.params.peerNoContext {
			d.keepWindow(p[:n])
		}
	}
	if err == io.EOF {
		if c.rd.msgType == TextMessage && !c.rd.utf8.complete() {
			return 0, protocolErrorf(ErrInvalidUTF8, "text message ends inside a character")
		}
		if cc := c.counts; cc != nil {
			cc.inflatedBytesIn.Add(uint64(d.out))
		}
		c.endInflate()
		c.rd.compressed = false
	}
	return n, err
}

// readWholeFrame reads the rest of a message that is one frame into a
// pooled buffer, unmasks it and gives it back its tail. The caller holds
// readLock.
func (c *Conn) readWholeFrame(d *inflateState) error {
	buf := wholeFrames.get()
	p := (*buf)[:c.rd.remaining]
	if _, err := io.ReadFull(c.br, p); err != nil {
		wholeFrames.put(buf)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if c.rd.masked {
		c.rd.maskPos = mask(c.rd.maskKey, c.rd.maskPos, p)
	}
	c.rd.remaining = 0
	c.endFrame()
	d.src.tail = len(deflateTail) // served, from the buffer
	d.whole = buf
	d.wholeR.Reset(append(p, deflateTail[:]...))
	return nil
}

// checkRestIsTail reads what follows deflate's final block in the
// current message: at most the tail we appended may remain. It reads no
// more than one byte past the tail, so a peer's long run of extra bytes
// fails the message at once, and a streamed message's later frames are
// read as far as needed to tell. The caller holds readLock.
func (d *inflateState) checkRestIsTail() error {
	var r io.Reader = &d.wholeR
	if d.srcBuf != nil {
		r = d.srcBuf
	}
	var rest [len(deflateTail) + 1]byte
	switch _, err := io.ReadFull(r, rest[:]); err {
	case nil:
		return protocolErrorf(ErrBadCompressedData, "bytes after the final deflate block")
	case io.EOF, io.ErrUnexpectedEOF:
		return nil // what was left is the tail, or part of it
	default:
		return err // from the frames that follow
	}
}

// isCorrupt reports whether a decompressor's error says its input is not
// deflate data. Only called on an error: the target of errors.As escapes.
func isCorrupt(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.As(err, &corrupt)
}

// endInflate gives the decompressor back once a message is read, and
// without context takeover the rest of the read side too. The caller
// holds readLock.
func (c *Conn) endInflate() {
	d := c.deflate.inf
	if d == nil {
		return
	}
	d.endMessage()
	if c.deflate.params.peerNoContext {
		*d = inflateState{}
		inflateStates.Put(d)
		c.deflate.inf = nil
	}
}

// skipCompressedLocked drops the rest of a compressed message. Under
// context takeover the rest is inflated all the same: the next message
// may refer to it. The caller holds readLock.
func (c *Conn) skipCompressedLocked() error {
	if c.deflate.params.peerNoContext {
		c.endInflate()
		c.rd.compressed = false
		return nil
	}
	var scratch [512]byte
	for c.rd.compressed {
		if _, err := c.inflate(scratch[:]); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// keepWindow appends output to the window of the next message.
func (d *inflateState) keepWindow(out []byte) {
	if len(out) >= windowSize {
		d.window = append(d.window[:0], out[len(out)-windowSize:]...)
		return
	}
	if over := len(d.window) + len(out) - windowSize; over > 0 {
		d.window = append(d.window[:0], d.window[over:]...)
	}
	d.window = append(d.window, out...)
}

// endMessage gives the decompressor back once a message is read.
func (d *inflateState) endMessage() {
	if d.fr != nil {
		flateReaders.Put(d.fr)
		d.fr = nil
	}
	if d.srcBuf != nil {
		d.srcBuf.Reset(nil)
		bufioReaders.Put(d.srcBuf)
		d.srcBuf = nil
	}
	if d.whole != nil {
		d.wholeR.Reset(nil)
		wholeFrames.put(d.whole)
		d.whole = nil
	}
}

// compressedSink collects a compressor's output for a message writer and
// sends it as frames. It holds back the last four bytes, which may be the
// tail that the wire leaves out.
type compressedSink struct {
	c *Conn
}

func (s compressedSink) Write(p []byte) (int, error) {
	w := s.c.deflate.cw
	room := (*w.buf)[maxHeaderSize:]
	written := 0
	for len(p) > 0 {
		if w.n == len(room) {
			// Send all but the last four bytes, which move to the front.
			keep := len(deflateTail)
			full := w.n
			w.n -= keep
			if err := w.flush(false); err != nil {
				return written, err
			}
			w.n = copy(room, room[full-keep:full])
		}
		k := copy(room[w.n:], p)
		w.n += k
		p = p[k:]
		written += k
	}
	return written, nil
}
