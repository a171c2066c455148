package websocket

import (
	"errors"
	"io"
	"sync/atomic"
)

// Serve reads the connection's messages in the background and calls
// onMessage with each, one at a time and in order, then onEnd (if not nil)
// once the connection has ended. It returns at once.
//
// A connection served this way holds no goroutine and no buffer while the
// peer sends nothing: on Linux, for a connection over TCP or a Unix
// socket, one poller per process watches every served connection and
// starts a goroutine when bytes arrive, which reads and hands over
// messages until the peer has sent nothing more. Elsewhere Serve runs a
// goroutine per connection, as a read loop would. Pings are answered and
// close frames acted on as with NextReader, between messages too.
//
// onMessage gets a reader of the message's payload, valid until it
// returns; what it leaves unread is discarded. It may write to the
// connection and may call Close or Terminate. While it runs, the next
// message waits. onEnd gets the CloseEvent, in a goroutine of its own.
//
// Serve is called at most once, and its connection is then read by Serve
// alone: not by NextReader or ReadMessage.
func (c *Conn) Serve(onMessage func(MessageType, io.Reader), onEnd func(CloseEvent)) error {
	if onMessage == nil {
		return errors.New("websocket: Serve needs an onMessage function")
	}
	s := &serveState{onMessage: onMessage, onEnd: onEnd}
	if !c.served.CompareAndSwap(nil, s) {
		return errors.New("websocket: Serve was already called")
	}
	if c.ended() {
		// finish may have run before it could find s.
		s.end(c)
		return nil
	}
	if c.br.raw == nil || !watch(c, s) {
		go c.serveLoop(s)
	}
	return nil
}

// serveState is a served connection's.
type serveState struct {
	onMessage func(MessageType, io.Reader)
	onEnd     func(CloseEvent)
	ended     atomic.Bool
	parked    atomic.Bool // waiting in the poller: whoever unsets it serves c next
	poller    *poller     // nil: served by a goroutine of its own
	id        uint32      // the connection's key in poller
}

// end runs once the connection has ended, from finish or from Serve.
func (s *serveState) end(c *Conn) {
	if !s.ended.CompareAndSwap(false, true) {
		return
	}
	if s.poller != nil {
		s.poller.forget(s.id)
	}
	if s.onEnd != nil {
		go s.onEnd(c.CloseEvent())
	}
}

// serveLoop serves a connection that the poller does not watch: it reads
// until the connection ends.
func (c *Conn) serveLoop(s *serveState) {
	for {
		typ, r, err := c.NextReader()
		if err != nil {
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
			s.parked.Store(true)
			if s.poller.rearm(c, s.id) {
				if hook := serveParked.Load(); hook != nil {
					(*hook)(c)
				}
				return
			}
			// The socket or the poller is gone. Unless the poller took c
			// over, go on reading here: the read reports how c ended, or
			// serves it without the poller.
			if s.parked.CompareAndSwap(true, false) {
				c.serveLoop(s)
			}
			return
		case err != nil:
			return
		default:
			s.onMessage(typ, r)
		}
	}
}

// serveParked, when set by a test, is told each time a served connection
// goes back to its poller, as the last thing its goroutine does.
var serveParked atomic.Pointer[func(*Conn)]

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
