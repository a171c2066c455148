package websocket

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Serve reads the connection's messages in the background and calls
// onMessage with each, one at a time and in order, then onEnd (if not nil)
// once the connection has ended and the last onMessage has returned. It
// returns at once.
//
// A connection served this way holds no goroutine and no buffer while the
// peer sends nothing (compression's context takeover keeps its window, as
// it does for any reader): on Linux, for a connection over TCP or a Unix
// socket, one poller per process watches every served connection and
// starts a goroutine when bytes arrive, which reads and hands over
// messages until the peer has sent nothing more. Elsewhere, or when the
// poller cannot be set up (the per-user epoll watch limit), Serve runs a
// goroutine per connection, as a read loop would.
//
// The rest is as with a read loop: pings are answered and close frames
// acted on, between messages too; while Close waits for the peer's close
// frame, the messages sent before it still reach onMessage.
//
// What bounds a peer: one that begins a frame and stops holds a goroutine
// and a read buffer, and is terminated when the Upgrader's FrameTimeout
// passes (60 s by default; CloseEvent.Err is ErrFrameTimeout). One that
// sends nothing at all holds neither, and nothing ends it by default:
// turn the heartbeat on (Upgrader.PingInterval, Conn.SetHeartbeat) to
// terminate a peer that stops answering pings, or set a read deadline
// (Conn.SetReadDeadline, moved on after each message) to end one that
// stops sending messages.
//
// onMessage gets a reader of the message's payload, valid until it
// returns; what it leaves unread is discarded. It may write to the
// connection and may call Close or Terminate. While it runs, the next
// message waits. onEnd gets the CloseEvent, in a goroutine of its own.
//
// Serve is called at most once, and its connection is then read by Serve
// alone: not by NextReader or ReadMessage. Safe from any goroutine.
func (c *Conn) Serve(
	onMessage func(MessageType, io.Reader), onEnd func(CloseEvent),
) error {
	if onMessage == nil {
		return errors.New("websocket: Serve needs an onMessage function")
	}
	s := &serveState{onMessage: onMessage, onEnd: onEnd}
	s.ready = func() { c.serveReady(s) }
	s.left.Store(2) // before finish can find s
	if !c.served.CompareAndSwap(nil, s) {
		return errors.New("websocket: Serve was already called")
	}
	if c.ended() {
		// finish may have run before it could find s. No goroutine
		// will serve c: its part of onEnd's wait is done here.
		s.end(c)
		s.release(c)
		return nil
	}
	if c.br.raw == nil || !watch(c, s) {
		if cc := c.counts; cc != nil && cc.stats != nil {
			cc.stats.servedByGoroutine()
		}
		go c.serveLoop(s)
	} else if ns := c.readDeadline.Load(); ns != 0 {
		c.serveDeadline(time.Unix(0, ns)) // set before Serve
	}
	return nil
}

// serveState is a served connection's.
type serveState struct {
	onMessage func(MessageType, io.Reader)
	onEnd     func(CloseEvent)
	ended     atomic.Bool
	run       atomic.Int32 // who serves c: see runActive
	ready     func()       // c.serveReady(s), made once: a go statement with it allocates nothing
	handle    pollHandle   // the epoll registration, on Linux
	poller    *poller      // guarded by pollers.mu; nil: served by a goroutine of its own
	id        uint32       // guarded by pollers.mu: the connection's key in poller
	mu        sync.Mutex
	deadline  *time.Timer // guarded by mu: SetReadDeadline's, made by the first
	// left counts what onEnd waits for: the connection's end, and the last
	// goroutine serving it (or the poller's hold on it) letting go.
	left atomic.Int32
}

// end runs once the connection has ended, from finish or from Serve.
func (s *serveState) end(c *Conn) {
	if !s.ended.CompareAndSwap(false, true) {
		return
	}
	forget(s)
	s.mu.Lock()
	if s.deadline != nil {
		s.deadline.Stop()
	}
	s.mu.Unlock()
	s.release(c)
	if s.take() {
		s.release(c) // parked: no goroutine serves c, and none will
	}
}

// Who serves a connection, in serveState.run. A goroutine serves it
// (runActive) until it finds nothing to read and parks it (runParked);
// whoever takes it back from the poller serves it next. The poller's
// registration is edge-triggered: it reports bytes that arrive while a
// goroutine still serves the connection as well, which marks it
// runAgain, so that the goroutine reads again instead of parking.
const (
	runActive int32 = iota
	runParked
	runAgain
)

// take takes a parked connection to serve it, and reports whether it
// was parked.
func (s *serveState) take() bool { return s.run.CompareAndSwap(runParked, runActive) }

// park leaves the connection to the poller, unless bytes arrived since
// the goroutine serving it last found nothing: it reports whether it
// parked, and the goroutine must read again when it did not.
func (s *serveState) park() bool {
	for {
		switch s.run.Load() {
		case runAgain:
			if s.run.CompareAndSwap(runAgain, runActive) {
				return false
			}
		default: // runActive
			if s.run.CompareAndSwap(runActive, runParked) {
				return true
			}
		}
	}
}

// readable tells a connection's state that its socket turned readable,
// and reports whether it was parked, in which case the caller serves it.
func (s *serveState) readable() bool {
	for {
		switch st := s.run.Load(); st {
		case runParked:
			if s.run.CompareAndSwap(runParked, runActive) {
				return true
			}
		case runActive:
			if s.run.CompareAndSwap(runActive, runAgain) {
				return false
			}
		default: // runAgain: already told
			return false
		}
	}
}

// release drops one of the two things onEnd waits for; the last runs it,
// so that onEnd never overlaps onMessage.
func (s *serveState) release(c *Conn) {
	if s.left.Add(-1) == 0 && s.onEnd != nil {
		go s.onEnd(c.CloseEvent())
	}
}

// serveLoop serves a connection that the poller does not watch: it reads
// until the connection ends.
func (c *Conn) serveLoop(s *serveState) {
	for {
		typ, r, err := c.NextReader()
		if err != nil {
			s.release(c)
			return
		}
		s.onMessage(typ, r)
	}
}

// serveReady serves a watched connection whose socket turned readable: it
// hands over messages until the peer has sent nothing more, then asks the
// poller to watch again, and returns.
func (c *Conn) serveReady(s *serveState) {
	for {
		typ, r, err := c.nextServed()
		switch {
		case err == errIdle:
			if hook := serveIdle.Load(); hook != nil {
				(*hook)(c)
			}
			// No system call: the registration stays, and reports the
			// next bytes, even those that came since the read that found
			// none (then park fails, and the loop reads them).
			if s.park() {
				if s.ended.Load() && s.take() {
					// The connection ended while this goroutine served
					// it: end found it active, not parked, and left its
					// release to the goroutine serving it.
					s.release(c)
					return
				}
				if hook := serveParked.Load(); hook != nil {
					(*hook)(c)
				}
				return
			}
		case err != nil:
			s.release(c)
			return
		default:
			s.onMessage(typ, r)
		}
	}
}

// takeServed takes a served connection that waits in the poller and reads
// it with a goroutine of its own, counted as a reader, until it ends:
// Close calls it so that the messages the peer sent before its close frame
// still reach onMessage, as they reach a read loop. It reports whether it
// took the connection.
func (c *Conn) takeServed() bool {
	s := c.served.Load()
	if s == nil || !s.take() {
		return false
	}
	c.beginRead()
	go func() {
		defer c.endRead()
		c.serveLoop(s)
	}()
	return true
}

// serveDeadline makes a read deadline act on a served connection that
// waits in the poller, where no read is pending to fail: when t passes,
// a goroutine is started that finds the deadline passed and ends the
// connection, as a read loop's read would.
func (c *Conn) serveDeadline(t time.Time) {
	s := c.served.Load()
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.IsZero() || s.ended.Load() {
		if s.deadline != nil {
			s.deadline.Stop()
		}
		return
	}
	// One timer, reset: a reader that moves its deadline on after every
	// message is the common case.
	if s.deadline == nil {
		s.deadline = time.AfterFunc(time.Until(t), func() {
			if s.take() {
				c.serveReady(s)
			}
		})
		return
	}
	s.deadline.Reset(time.Until(t))
}

// serveParked, when set by a test, is told each time a served connection
// goes back to its poller, as the last thing its goroutine does.
var serveParked atomic.Pointer[func(*Conn)]

// serveIdle, when set by a test, is told each time the goroutine serving
// a connection has found nothing to read, before it parks it.
var serveIdle atomic.Pointer[func(*Conn)]

// errIdle says that the peer has sent nothing more for now.
var errIdle = errors.New("websocket: nothing to read")

// nextServed is NextReader for serveReady: where NextReader would wait
// for the next frame to begin, it returns errIdle.
func (c *Conn) nextServed() (MessageType, io.Reader, error) {
	c.beginRead()
	defer c.endRead()
	if !c.readLock.lock(c.done) {
		return 0, nil, c.terminalError()
	}
	defer c.readLock.unlock()
	typ, err := c.nextMessageUntil(true)
	if err != nil {
		return 0, nil, err
	}
	c.msgReaders[c.rd.gen&1] = messageReader{c: c, gen: c.rd.gen}
	return typ, &c.msgReaders[c.rd.gen&1], nil
}
