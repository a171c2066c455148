package websocket

import (
	"sync"
	"time"
)

// Context takeover without a compressor per idle connection.
//
// Under context takeover the peer's decompressor keeps the last 2^bits
// bytes we sent it, and our compressor may refer back into them. A
// compressor that remembers them is about 800 KiB; what the RFC needs
// between two messages is only those bytes. So a connection keeps its
// compressor while it writes, and once it has written no compressed
// message for a while a sweep gives the compressor back to the pool and
// keeps only the tail of what it sent. The next compressed message borrows
// a compressor and primes it with that tail (ResetDict), which costs about
// what compressing the tail costs (27 µs for 32 KiB of JSON here): too
// much to pay per message, which is why an active connection keeps its
// compressor, and nothing next to a wake from idle.

// sentTail is the end of what a connection's compressor has been given:
// the dictionary a compressor borrowed later must be primed with. Guarded
// by msgLock.
type sentTail struct {
	// buf ends with the tail. It grows to twice the window before its
	// start is dropped, so that a byte written is moved once on average,
	// not once per message.
	buf    []byte
	window int // the most the peer's decompressor keeps: 2^bits
}

// add appends what the compressor has just been given.
func (t *sentTail) add(p []byte) {
	if len(p) >= t.window {
		t.buf = append(t.buf[:0], p[len(p)-t.window:]...)
		return
	}
	if len(t.buf)+len(p) > 2*t.window {
		keep := t.window - len(p)
		n := copy(t.buf, t.buf[len(t.buf)-keep:])
		t.buf = t.buf[:n]
	}
	t.buf = append(t.buf, p...)
}

// tail returns the last window bytes given, or all of them if fewer.
func (t *sentTail) tail() []byte {
	if len(t.buf) > t.window {
		return t.buf[len(t.buf)-t.window:]
	}
	return t.buf
}

// shrink keeps only the tail, in a slice of its size: what an idle
// connection holds.
func (t *sentTail) shrink() {
	tail := t.tail()
	if cap(t.buf) > len(tail) {
		buf := make([]byte, len(tail))
		copy(buf, tail)
		t.buf = buf
	}
}

// compressorIdleAfter is how long a connection under context takeover
// may write no compressed message before it gives its compressor back:
// between one and two of these, as the sweep comes round.
const compressorIdleAfter = time.Second

// idleCompressors watches every connection of the process that holds a
// compressor under context takeover.
var idleCompressors = &compressorSweeper{every: compressorIdleAfter}

// compressorSweeper takes compressors back from the connections that have
// stopped writing. One timer serves them all, armed while any connection
// holds a compressor: a message costs a flag set under a lock it holds
// anyway, not a timer operation.
type compressorSweeper struct {
	every   time.Duration // 0: only when sweep is called (tests)
	stopped func()        // called when the timer stops (tests)

	mu    sync.Mutex
	conns map[*Conn]struct{}
	timer *time.Timer // nil while no connection holds a compressor
}

// watch adds a connection that has just taken a compressor to keep. The
// caller holds c's msgLock.
func (s *compressorSweeper) watch(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = make(map[*Conn]struct{})
	}
	s.conns[c] = struct{}{}
	if s.timer == nil && s.every > 0 {
		s.timer = time.AfterFunc(s.every, s.tick)
	}
}

// forget drops a connection that has ended.
func (s *compressorSweeper) forget(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// tick sweeps, and comes round again while a connection holds a
// compressor.
func (s *compressorSweeper) tick() {
	s.sweep()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) > 0 {
		s.timer.Reset(s.every)
		return
	}
	s.timer = nil
	if s.stopped != nil {
		s.stopped()
	}
}

// sweep takes the compressor back from every connection that has written
// no compressed message since the last sweep. A connection busy writing
// is passed over: its lock is only tried, so a sweep never waits on a
// slow peer.
func (s *compressorSweeper) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.hasEnded.Load() {
			delete(s.conns, c)
			continue
		}
		if !c.msgLock.tryLock() {
			continue
		}
		if c.deflate.releaseIfIdle() {
			delete(s.conns, c)
		}
		c.msgLock.unlock()
	}
}

// releaseIfIdle gives the kept compressor back if no compressed message
// was written since the last call, and reports whether the connection
// holds none now. The caller holds msgLock.
func (d *deflateState) releaseIfIdle() bool {
	if d.fw == nil {
		return true
	}
	if d.wrote {
		d.wrote = false
		return false
	}
	putFlateWriter(d.fw, d.params.windowBits())
	d.fw = nil
	d.sent.shrink()
	return true
}
