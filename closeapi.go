package websocket

import (
	"fmt"
	"net"
	"time"
)

// The application's two ways to end a connection, on the state machine
// of close.go: Close, the closing handshake, and Terminate, the drop.

// Close runs the closing handshake (RFC 6455 section 7): it sends a close
// frame with code and reason, stops data writes (they return an error
// wrapping net.ErrClosed), waits for the peer's close frame, then closes
// TCP: a server at once, a client once the server has closed it (RFC 6455
// section 7.1.1). The wait is bounded by the Upgrader's or Dialer's
// CloseTimeout (5 s by default); a client whose server has answered but
// does not close TCP within it closes TCP itself, and the end is clean.
//
// If a goroutine is inside a read method when Close is called, that reader
// goes on receiving the messages the peer sent before its close frame, then
// a *CloseError; so does Serve's onMessage. Otherwise Close reads and
// discards them itself, handing over to a reader that arrives meanwhile; a
// reader that stops reading during Close, or is between two reads when
// Close is called (a read loop handling a message, or onMessage), gets
// 100 ms to come back for the peer's next message before Close reads in
// its place; what the peer sends before that message that is not one
// (its close frame, a ping), Close reads at once, since a reader would
// get only its effect. A connection that was never
// read from is read by Close at once.
//
// Close returns nil when the handshake completed, also when the peer's close
// frame arrived first and Close joined its answer. It returns an error when
// the handshake failed (ErrCloseTimeout, ErrTerminated, ErrWriteTimeout,
// a protocol violation, an I/O error); TCP is closed anyway. It returns an
// error wrapping net.ErrClosed at once, sending nothing, when a close had
// already started or the connection had ended. Invalid arguments (a code
// that may not be sent, a reason over 123 bytes or not UTF-8) return an
// error and send nothing.
//
// Close may be called from any goroutine, concurrently with every method.
func (c *Conn) Close(code StatusCode, reason string) error {
	if err := checkCloseArgs(code, reason); err != nil {
		return err
	}
	switch c.step(evClose, closeInfo{}) {
	case actRefuse:
		return fmt.Errorf("websocket: close: %w", net.ErrClosed)
	case actJoin:
		<-c.done
		return c.closeResult()
	}
	c.liftReadDeadline()
	if err := c.sendClose(code, reason); err != nil {
		c.abort(fmt.Errorf("websocket: failed to send close frame: %w", err), SideLocal)
		return c.closeResult()
	}
	c.awaitPeerClose()
	return c.closeResult()
}

// awaitPeerClose waits until the connection has ended, by the peer's close
// frame or the close timer. While an application reader is inside a read
// method, the reader sees the peer's messages and close frame. While none
// is, Close reads and discards frames itself, one at a time, so that a
// reader that comes takes over at the next frame. A reader that leaves
// gets readerGrace to come back for the peer's next message before Close
// reads in its place; control frames, the close frame among them, Close
// reads at once (readCloseIfNext).
func (c *Conn) awaitPeerClose() {
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	// A reader between two reads of a message, or a read loop between
	// two messages, counts as one that just left: it gets readerGrace to
	// come back for the rest, and control frames are read meanwhile.
	sawReader := c.midMessage() || c.hasRead.Load()
	for {
		// Besides the end, one of these ends the wait.
		var readerLeft, lockFreed <-chan struct{}
		var graceOver <-chan time.Time
		switch {
		case c.readers.Load() > 0:
			sawReader = true
			readerLeft = c.readerLeft
		case sawReader:
			sawReader = false
			if c.readCloseIfNext() {
				return
			}
			if grace == nil {
				grace = time.NewTimer(readerGrace)
			} else {
				grace.Reset(readerGrace)
			}
			graceOver = grace.C
		case c.takeServed():
			continue // its goroutine is a reader now
		default:
			lockFreed = c.readLock.contend()
		}
		if readerLeft != nil || graceOver != nil || lockFreed != nil {
			select {
			case <-c.done:
				return
			case <-readerLeft:
				continue
			case <-graceOver:
				continue
			case <-lockFreed:
				// The token is ours: try again at once, so that no other
				// waiter misses it.
				if c.readLock.contend() != nil {
					continue
				}
			}
		}
		// readLock is held.
		if c.readers.Load() > 0 {
			c.readLock.unlock()
			continue
		}
		ended := c.discardFrame()
		c.readLock.unlock()
		if ended {
			return
		}
	}
}

// readCloseIfNext serves a reader that is between two messages: it waits
// for the peer's next frame and reads it at once if it is a control
// frame, since a reader gets nothing from those but their effect (a pong
// sent, the *CloseError), which it gets anyway. Without it, a client that
// reads its answer and then calls Close from the same goroutine would wait
// out readerGrace on every close. A data frame is left for the reader. It
// reports whether the connection has ended, as it does once the peer's
// close frame is read. A served connection's frames are Serve's.
func (c *Conn) readCloseIfNext() (ended bool) {
	if c.served.Load() != nil || !c.readLock.tryLock() {
		return false
	}
	defer c.readLock.unlock()
	for c.readers.Load() == 0 && c.rd.messageDone() && !c.rd.compressed {
		b, err := c.br.Peek(1)
		if err != nil {
			c.readFailed(err)
			return true
		}
		if !opcode(b[0] & 0x0f).isControl() {
			return false
		}
		if c.discardFrame() {
			return true
		}
	}
	return false
}

// midMessage reports whether the application holds a reader in the
// middle of a message and is not inside a read method right now.
func (c *Conn) midMessage() bool {
	if c.readers.Load() > 0 || !c.readLock.tryLock() {
		return false // a reader is inside a read method
	}
	defer c.readLock.unlock()
	rd := &c.rd
	return (!rd.messageDone() || rd.compressed) && !rd.discarded && !c.ended()
}

// readerGrace is how long Close lets a reader that stopped reading come
// back before it reads the peer's frames itself. Tests may lower it.
var readerGrace = 100 * time.Millisecond

// closeResult is what Close returns once the connection has ended.
func (c *Conn) closeResult() error {
	<-c.done
	ev := c.CloseEvent()
	if ev.WasClean {
		return nil
	}
	return fmt.Errorf("websocket: closing handshake did not complete: %w", ev.Err)
}

// Terminate drops the connection at once, without a close frame: for a
// peer that misbehaves or stopped answering. Blocked reads and writes
// return promptly, a Close in progress returns ErrTerminated, and the
// connection ends with StatusAbnormalClosure, as a browser reports it.
//
// Terminate returns nil when it ended the connection, and an error wrapping
// net.ErrClosed when the connection had already ended. It may be called
// from any goroutine, at any time, any number of times.
func (c *Conn) Terminate() error {
	switch c.step(evAbort, closeInfo{cause: ErrTerminated, side: SideLocal}) {
	case actDropTCP:
		c.dropTCP()
		return nil
	case actCutPending:
		if c.cutPending(ErrTerminated) {
			return nil
		}
	}
	return fmt.Errorf("websocket: terminate: %w", net.ErrClosed)
}
