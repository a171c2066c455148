package websocket

import (
	"io"
	"sync"
	"syscall"
)

// readBuf buffers the read side of a Conn without holding a buffer while
// the connection is idle: a buffer comes from a pool when bytes arrive and
// goes back once they have been read. On a socket, the wait for bytes
// happens before the buffer is taken (syscall.RawConn), so that thousands
// of idle connections hold no read buffer at all; on other streams (TLS, a
// pipe) the buffer is held during the wait. Its methods are those of
// bufio.Reader that the read path uses.
type readBuf struct {
	src  io.Reader
	raw  syscall.RawConn // nil when src is not a socket
	pool *bufferPool
	big  *[]byte // the pooled buffer; nil while nothing is buffered
	r, w int     // (*big)[r:w] is buffered
	err  error   // from src, returned once the buffered bytes are used

	// midFrame says that a frame has begun: a wait for the peer's bytes
	// is then bounded by the frame timer, which watch is told about.
	midFrame bool
	waiting  bool // watch.waitBegins was called, and waitEnds not yet
	watch    waitWatcher

	// What the raw read callback reads into (nil: a pooled buffer it
	// takes) and what it reports; set up once, so that a read allocates
	// nothing.
	rawDst   []byte
	rawRead  func(fd uintptr) bool
	tryRead  func(fd uintptr) bool // made by the first tryFill
	rawN     int
	rawErr   error
	rawReady bool
}

func newReadBuf(src io.Reader, raw syscall.RawConn, pool *bufferPool, pending []byte) *readBuf {
	b := &readBuf{src: src, raw: raw, pool: pool}
	if raw != nil {
		b.rawRead = b.readFD
	}
	if len(pending) > 0 {
		// Bytes the HTTP server read past the upgrade request.
		buf := make([]byte, max(len(pending), pool.size))
		b.big = &buf
		b.w = copy(buf, pending)
	}
	return b
}

// Buffered returns how many bytes can be read without reading src.
func (b *readBuf) Buffered() int { return b.w - b.r }

// Peek returns the next n bytes (n at most the pool's size) without
// consuming them, reading src as needed.
func (b *readBuf) Peek(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	for b.w-b.r < n {
		if b.err != nil {
			return b.bytes(), b.takeErr()
		}
		if b.big != nil && len(*b.big)-b.r < n {
			b.compact()
		}
		b.fill()
	}
	return (*b.big)[b.r : b.r+n], nil
}

// Discard skips the next n bytes.
func (b *readBuf) Discard(n int) (int, error) {
	done := 0
	for done < n {
		if b.r == b.w {
			if b.err != nil {
				return done, b.takeErr()
			}
			b.fill()
			continue
		}
		k := min(n-done, b.w-b.r)
		b.r += k
		done += k
		b.release()
	}
	return done, nil
}

// Read reads up to len(p) bytes. A read at least as large as the pooled
// buffer goes straight to src when nothing is buffered.
func (b *readBuf) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if b.err != nil {
			return 0, b.takeErr()
		}
		if len(p) >= b.pool.size {
			return b.readSrc(p)
		}
		b.fill()
		if b.r == b.w {
			return 0, b.takeErr()
		}
	}
	n := copy(p, (*b.big)[b.r:b.w])
	b.r += n
	b.release()
	return n, nil
}

// WriteTo copies everything src sends to w, for the drain after a failure.
func (b *readBuf) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if b.r < b.w {
			n, err := w.Write((*b.big)[b.r:b.w])
			total += int64(n)
			b.r += n
			b.release()
			if err != nil {
				return total, err
			}
		}
		if b.err != nil {
			if err := b.takeErr(); err != io.EOF {
				return total, err
			}
			return total, nil
		}
		b.fill()
	}
}

// fill reads src once into the free end of the buffer.
func (b *readBuf) fill() {
	if b.big == nil && b.raw != nil {
		// Wait for the socket to be readable, then take a buffer.
		b.rawDst = nil
		b.rawN, b.rawErr = 0, nil
		err := b.raw.Read(b.rawRead)
		b.endWait()
		if err != nil {
			b.err = err
			return
		}
		b.w = b.rawN
		b.err = b.rawErr
		return
	}
	if b.big == nil {
		b.big = b.pool.get()
	}
	n, err := b.readSrc((*b.big)[b.w:])
	b.w += n
	b.err = err
	b.release()
}

// readSrc reads src into p. On a socket the read goes through the raw
// callback, so that only a read that has to wait for the peer is
// reported to watch; on another stream every read mid-frame is.
func (b *readBuf) readSrc(p []byte) (int, error) {
	if b.raw == nil {
		if b.midFrame {
			b.waiting = true
			b.watch.waitBegins()
		}
		n, err := b.src.Read(p)
		b.endWait()
		return n, err
	}
	b.rawDst = p
	b.rawN, b.rawErr = 0, nil
	err := b.raw.Read(b.rawRead)
	b.rawDst = nil
	b.endWait()
	if err != nil {
		return 0, err
	}
	return b.rawN, b.rawErr
}

// endWait tells watch that a wait for the peer is over.
func (b *readBuf) endWait() {
	if b.waiting {
		b.waiting = false
		b.watch.waitEnds()
	}
}

// tryFill reads what a socket holds now, without waiting, when nothing is
// buffered. It reports whether there is anything to read (or an error to
// report). Only for a socket (raw not nil).
func (b *readBuf) tryFill() bool {
	if b.r < b.w || b.err != nil {
		return true
	}
	if b.tryRead == nil {
		b.tryRead = b.readFDNow
	}
	b.rawDst = nil
	b.rawN, b.rawErr, b.rawReady = 0, nil, false
	if err := b.raw.Read(b.tryRead); err != nil {
		b.err = err
		return true
	}
	if !b.rawReady {
		return false
	}
	b.w = b.rawN
	b.err = b.rawErr
	return true
}

// readFDNow is readFD that never asks to wait: rawReady says whether it
// read anything.
func (b *readBuf) readFDNow(fd uintptr) bool {
	b.rawReady = b.readFD(fd)
	return true
}

// readFD is the raw read callback: it reads the socket into rawDst, or
// into a pooled buffer when rawDst is nil, or reports that the socket has
// nothing yet, and then, mid-frame, that the reader waits for the peer.
func (b *readBuf) readFD(fd uintptr) bool {
	dst, buf := b.rawDst, (*[]byte)(nil)
	if dst == nil {
		buf = b.pool.get()
		dst = *buf
	}
	n, err := readSocket(fd, dst)
	if err == syscall.EAGAIN {
		if buf != nil {
			b.pool.put(buf)
		}
		if b.midFrame && !b.waiting {
			b.waiting = true
			b.watch.waitBegins()
		}
		return false
	}
	switch {
	case err != nil:
		b.rawErr = err
	case n == 0:
		b.rawErr = io.EOF
	}
	b.rawN = n
	if buf != nil {
		if n > 0 {
			b.big, b.r = buf, 0
		} else {
			b.pool.put(buf)
		}
	}
	return true
}

// bytes returns what is buffered.
func (b *readBuf) bytes() []byte {
	if b.big == nil {
		return nil
	}
	return (*b.big)[b.r:b.w]
}

// compact moves the buffered bytes to the front of the buffer.
func (b *readBuf) compact() {
	b.w = copy(*b.big, (*b.big)[b.r:b.w])
	b.r = 0
}

// release gives the pooled buffer back once it is read empty.
func (b *readBuf) release() {
	if b.r != b.w || b.big == nil {
		return
	}
	b.pool.put(b.big)
	b.big = nil
	b.r, b.w = 0, 0
}

func (b *readBuf) takeErr() error {
	err := b.err
	b.err = nil
	return err
}

// bufferPool hands out buffers of one size.
type bufferPool struct {
	size int
	pool sync.Pool
}

func (p *bufferPool) get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, p.size)
	return &b
}

func (p *bufferPool) put(b *[]byte) {
	if len(*b) == p.size { // not the odd buffer of pending bytes
		p.pool.Put(b)
	}
}

// pools holds one bufferPool per buffer size in use.
var pools sync.Map // int -> *bufferPool

// poolFor returns the pool of buffers of size bytes.
func poolFor(size int) *bufferPool {
	if p, ok := pools.Load(size); ok {
		return p.(*bufferPool)
	}
	p, _ := pools.LoadOrStore(size, &bufferPool{size: size})
	return p.(*bufferPool)
}
