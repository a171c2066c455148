package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The close state machine (RFC 6455 sections 5.5.1 and 7).
//
//	                      Close, or a protocol
//	                      violation (fail):
//	   ┌──────┐            send our close frame          ┌───────────┐
//	   │ open │ ───────────────────────────────────────► │ closeSent │
//	   └──────┘                                           └───────────┘
//	     │   │  the peer's close frame:                    │  the peer's close frame:
//	     │   │  send the echo                              │  close TCP (clean)
//	     │   ▼                                             │  violation: linger, then
//	     │  ┌───────────────┐                              │  drop TCP; timeout, I/O
//	     │  │ closeReceived │                              │  error, Terminate:
//	     │  └───────────────┘                              ▼  drop TCP
//	     │   │  echo sent: close TCP (clean)          ┌────────┐
//	     │   └──────────────────────────────────────► │ closed │
//	     │      echo failed, Terminate: drop TCP      └────────┘
//	     └────────────────────────────────────────────────▲
//	        Terminate, EOF, I/O error: drop TCP
//
//	close TCP, by role:  server: close now
//	                     client: read to the server's FIN, then close;
//	                             at the close timeout or Terminate, close
//	                             (still clean: the handshake is complete)
//
// The server closes TCP first, as section 7.1.1 asks. "Close TCP" waits for
// our close frame to be written, then depends on the role: a server closes
// TCP at once; a client reads and discards until the server's FIN and
// closes only then. "Drop TCP" closes at once in both roles. A timer armed
// when the state leaves open bounds the handshake: at the close timeout it
// drops TCP, or, once closed, cuts short a close TCP whose frame is still
// stuck behind a peer that does not read, or a client's wait for a server
// that does not close; Terminate cuts them the same way. A client whose
// server never closes TCP still ends clean when both close frames went
// through: section 7.1.4 calls a connection closed cleanly when TCP closed
// after the closing handshake completed, whichever side closed it, and a
// browser reports such an end with wasClean true. Where this simplifies
// the RFC: after a protocol violation we send our close frame, half-close
// TCP and discard what arrives until the peer closes its side or the close
// timeout passes, instead of parsing the peer's answer (section 7.1.7 says
// not to process it), so a failed connection is never "clean".

// closeFields is the close state of a Conn. closeMu guards the fields
// below it; it is never held across I/O.
type closeFields struct {
	closing      atomic.Bool   // turns true with the first move out of stateOpen
	readerLeft   chan struct{} // signaled when the last reader leaves during a close; made when closing turns true
	hasEnded     atomic.Bool   // turns true just before done is closed
	closeWritten chan struct{} // closed once our close frame was written or failed; made with readerLeft
	done         chan struct{} // closed when the connection has ended

	closeMu      sync.Mutex
	state        closeState
	initiator    Side
	peerClosed   bool // the peer's close frame arrived
	peerCode     StatusCode
	peerReason   string
	cause        error // the first reason the end is not clean
	closeSendErr error
	finWait      bool        // a client waits for the server's FIN, the handshake complete
	closeTimer   *time.Timer // set when closing starts: ends the handshake at the close timeout
	event        CloseEvent  // set by finish
	recorded     bool        // finish has set event
}

// closeState is where a connection stands in the closing handshake.
type closeState uint8

const (
	// stateOpen: no close frame either way. Connections begin here and move
	// to closeSent, closeReceived or closed.
	stateOpen closeState = iota
	// stateCloseSent: our close frame is sent (or being sent); we read until
	// the peer's arrives. Moves to closed.
	stateCloseSent
	// stateCloseReceived: the peer's close frame arrived first; our echo is
	// being sent. Moves to closed.
	stateCloseReceived
	// stateClosed: TCP is closed or being closed. Terminal.
	stateClosed
)

var closeStateNames = [...]string{"open", "closeSent", "closeReceived", "closed"}

func (s closeState) String() string { return closeStateNames[s] }

// closeEvent is what happened to a connection.
type closeEvent uint8

const (
	evClose     closeEvent = iota // the application called Close
	evFail                        // the peer broke the protocol
	evPeerClose                   // a valid close frame arrived
	evEchoSent                    // our answer to the peer's close frame was written
	evTimeout                     // the close timeout passed
	evAbort                       // Terminate, EOF, an I/O error, the end of a failure
)

var closeEventNames = [...]string{"close", "fail", "peerClose", "echoSent", "timeout", "abort"}

func (e closeEvent) String() string { return closeEventNames[e] }

// closeAction is what the goroutine that caused a transition must do next.
type closeAction uint8

const (
	actNone       closeAction = iota // nothing: the event is stale or impossible here
	actRefuse                        // Close: a close already started; report net.ErrClosed
	actJoin                          // Close: the peer's close is being answered; wait for the end
	actSendClose                     // send our close frame
	actEcho                          // answer the peer's close frame
	actCloseTCP                      // close TCP in order, once our close frame is out
	actDropTCP                       // close TCP now
	actLinger                        // our close frame is already going: half-close TCP, read to the peer's end, then drop TCP
	actCutPending                    // closed, but TCP waits for our close frame to go out: close it now
)

var closeActionNames = [...]string{"none", "refuse", "join", "sendClose", "echo", "closeTCP", "dropTCP", "linger", "cutPending"}

func (a closeAction) String() string { return closeActionNames[a] }

// transition is the whole state machine: the next state and the action for
// an event. It is pure, and tested as a table.
func transition(s closeState, ev closeEvent) (closeState, closeAction) {
	switch s {
	case stateOpen:
		switch ev {
		case evClose, evFail:
			return stateCloseSent, actSendClose
		case evPeerClose:
			return stateCloseReceived, actEcho
		case evAbort:
			return stateClosed, actDropTCP
		}
	case stateCloseSent:
		switch ev {
		case evClose:
			return s, actRefuse
		case evPeerClose:
			return stateClosed, actCloseTCP
		case evFail:
			return s, actLinger
		case evTimeout, evAbort:
			return stateClosed, actDropTCP
		}
	case stateCloseReceived:
		switch ev {
		case evClose:
			return s, actJoin
		case evEchoSent:
			return stateClosed, actCloseTCP
		case evTimeout, evAbort:
			return stateClosed, actDropTCP
		}
	case stateClosed:
		switch ev {
		case evClose:
			return s, actRefuse
		case evTimeout, evAbort:
			// TCP may still wait for our close frame to go out (close
			// TCP, not drop TCP): cut that wait short.
			return s, actCutPending
		}
	}
	return s, actNone
}

// closeInfo is what an event carries into the record of how the
// connection ends.
type closeInfo struct {
	code   StatusCode // evPeerClose: the peer's code (StatusNoStatusRcvd for none)
	reason string     // evPeerClose: the peer's reason
	cause  error      // evFail, evTimeout, evAbort: why
	side   Side       // evAbort: who dropped the connection
}

// step feeds an event to the state machine and records what it carries.
// All close state changes go through it.
func (c *Conn) step(ev closeEvent, info closeInfo) closeAction {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	from := c.state
	next, act := transition(from, ev)
	if act == actNone || act == actRefuse || act == actJoin || act == actCutPending {
		return act // nothing to record: the state stays
	}
	if from == stateOpen {
		// Made here, not with the Conn, so that an open connection does
		// not carry them; closing publishes them to readers.
		c.readerLeft = make(chan struct{}, 1)
		c.closeWritten = make(chan struct{})
		c.closing.Store(true)
		if next != stateClosed {
			// The one bound on every wait of the handshake, ours or the
			// application's: at the close timeout the stream is closed
			// (drop TCP, or cut a close TCP still waiting for our frame),
			// which ends any read or write still blocked. One timer, not
			// a deadline per read and write, because a close storm starts
			// thousands at once.
			c.closeTimer = time.AfterFunc(c.closeTimeout, c.timeout)
			if c.counts != nil {
				c.counts.closeStart = time.Now().UnixNano()
			}
		}
		// Pings end with the open state: a missed pong must not cut
		// short a closing handshake that has its own timeout.
		c.stopHeartbeat()
		c.initiator = SideLocal
		if ev == evPeerClose || (ev == evAbort && info.side == SidePeer) {
			c.initiator = SidePeer
		}
	}
	if ev == evPeerClose {
		c.peerClosed = true
		c.peerCode, c.peerReason = info.code, info.reason
	}
	if c.cause == nil {
		c.cause = info.cause
	}
	c.state = next
	return act
}

// The performers of actions follow. Each runs in the goroutine whose event
// produced the action, outside closeMu.

// sendClose writes our close frame (an empty one for StatusNoStatusRcvd)
// and reports the outcome to closeTCP through closeWritten. The close
// timer bounds the write, and any data frame that holds the frame lock
// ahead of it.
func (c *Conn) sendClose(code StatusCode, reason string) error {
	defer close(c.closeWritten)
	var err error
	if code == StatusNoStatusRcvd {
		err = c.writeControl(opClose, nil, "", nil)
	} else {
		var b [2]byte
		binary.BigEndian.PutUint16(b[:], uint16(code))
		err = c.writeControl(opClose, b[:], reason, nil)
	}
	c.closeMu.Lock()
	c.closeSendErr = err
	c.closeMu.Unlock()
	return err
}

// closeTCP ends the connection in order, once our close frame is written.
// [RFC6455 7.1.1]: "the underlying TCP connection, in most normal cases,
// SHOULD be closed first by the server", so a server closes it now and a
// client first waits for the server to. The caller holds readLock: the
// peer's close frame brought it here.
func (c *Conn) closeTCP() {
	<-c.closeWritten
	if c.role == roleClient {
		c.awaitServerFIN()
	}
	c.finish(true)
}

// awaitServerFIN is a client's end of the closing handshake: it reads and
// discards until the server closes TCP, and returns then, or when the
// close timer (or Terminate) closes the stream. Closing first would leave
// the client's side in TIME_WAIT, the reason section 7.1.1 gives the duty
// to the server; and the handshake is complete here, so a cut wait is no
// failure. The caller holds readLock.
func (c *Conn) awaitServerFIN() {
	c.closeMu.Lock()
	c.finWait = c.closeSendErr == nil
	wait := c.finWait
	c.closeMu.Unlock()
	if !wait {
		return
	}
	c.liftReadDeadline()
	_, _ = io.Copy(io.Discard, c.br)
}

// dropTCP ends the connection now.
func (c *Conn) dropTCP() { c.finish(false) }

// resetStream ends the stream abortively: an HTTP/2 stream is reset
// (RST_STREAM), TCP is closed as by Close, its only way.
func (c *Conn) resetStream() {
	if r, ok := c.stream.(resetter); ok {
		_ = r.reset()
		return
	}
	_ = c.stream.Close()
}

// finish writes down how the connection ended, closes the stream and
// closes done. It runs once, from the transition into closed. The record
// comes first, so that a read the closed stream unblocks already finds it.
func (c *Conn) finish(orderly bool) {
	c.closeMu.Lock()
	ev := CloseEvent{
		Code:      StatusAbnormalClosure,
		Initiator: c.initiator,
		Err:       c.cause,
	}
	if c.peerClosed {
		ev.Code, ev.Reason = c.peerCode, c.peerReason
	}
	if ev.Err == nil && c.closeSendErr != nil {
		ev.Err = fmt.Errorf("websocket: failed to send close frame: %w", c.closeSendErr)
	}
	ev.WasClean = orderly && ev.Err == nil
	c.event = ev
	c.recorded = true
	timer := c.closeTimer
	c.closeMu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	if orderly {
		_ = c.stream.Close()
	} else {
		c.resetStream()
	}
	c.stopHeartbeat()
	c.ft.stop()
	if d := c.deflate; d != nil && !d.params.localNoContext {
		d.sweeper.forget(c)
	}
	if c.onEnd != nil {
		c.onEnd()
	}
	c.reportEnd(ev)
	c.hasEnded.Store(true)
	close(c.done)
	if s := c.served.Load(); s != nil {
		s.end(c)
	}
}

// abort drops the connection because of cause, unless it has ended.
func (c *Conn) abort(cause error, side Side) {
	if c.step(evAbort, closeInfo{cause: cause, side: side}) == actDropTCP {
		c.dropTCP()
	}
}

// timeout drops a connection whose closing handshake ran out of time:
// the close timer calls it.
func (c *Conn) timeout() {
	switch c.step(evTimeout, closeInfo{cause: ErrCloseTimeout}) {
	case actDropTCP:
		c.dropTCP()
	case actCutPending:
		c.cutPending(ErrCloseTimeout)
	}
}

// cutPending ends a connection whose state is closed but whose TCP still
// waits: for our close frame to go out, blocked behind a peer that does
// not read, or, on a client, for the server's FIN. Closing the stream
// ends either wait; a stuck close frame gives the record cause, while a
// client whose handshake completed stays clean. It reports whether there
// was such a wait.
func (c *Conn) cutPending(cause error) bool {
	c.closeMu.Lock()
	pending := !c.recorded
	if pending && c.cause == nil && !c.finWait {
		c.cause = cause
	}
	c.closeMu.Unlock()
	if pending {
		c.resetStream() // what is stuck is given up
	}
	return pending
}

// fail is the one place where a protocol violation by the peer becomes a
// close code on the wire (section 7.1.7). The caller holds readLock.
func (c *Conn) fail(pe *protocolError) {
	switch c.step(evFail, closeInfo{cause: pe}) {
	case actSendClose:
		if c.sendClose(pe.code(), pe.reason()) == nil {
			c.linger()
		}
		c.abort(nil, SideLocal)
	case actLinger:
		// Close sent our frame first: the violation gets no frame of its
		// own, but the same linger once that frame is out, within the
		// same close timeout.
		<-c.closeWritten
		c.closeMu.Lock()
		sent := c.closeSendErr == nil
		c.closeMu.Unlock()
		if sent {
			c.linger()
		}
		c.abort(nil, SideLocal)
	case actDropTCP:
		c.dropTCP()
	}
}

// linger half-closes TCP after a failure's close frame and discards what
// arrives until the peer closes its side or the close timer drops the
// connection. Closing at once could reset the connection while the peer
// still sends, and a reset can destroy our close frame before the peer
// reads it.
func (c *Conn) linger() {
	c.endFrame() // the close timer bounds the rest
	if c.stream.CloseWrite() != nil {
		return
	}
	c.liftReadDeadline()
	_, _ = io.Copy(io.Discard, c.br)
}

// liftReadDeadline takes away a read deadline the application set: once
// the handshake has started, the close timer bounds every read, and an
// earlier deadline must not cut the handshake short.
func (c *Conn) liftReadDeadline() {
	if c.readDeadline.Swap(0) != 0 {
		_ = c.stream.SetReadDeadline(time.Time{})
	}
}

// handleCloseFrame acts on the peer's close frame; the read path calls it
// holding readLock. It returns errPeerClosed once the connection has ended,
// or the protocol error of an invalid frame.
func (c *Conn) handleCloseFrame(payload []byte) error {
	code, reason, err := parseClosePayload(payload)
	if err != nil {
		return err
	}
	switch c.step(evPeerClose, closeInfo{code: code, reason: reason}) {
	case actEcho:
		// [RFC6455 5.5.1]: "the endpoint typically echos the status code
		// it received". The reason goes back too, so that a browser that
		// closed with one finds it in its close event.
		if err := c.sendClose(code, reason); err != nil {
			c.abort(err, SideLocal)
		} else if c.step(evEchoSent, closeInfo{}) == actCloseTCP {
			c.closeTCP()
		}
	case actCloseTCP:
		c.closeTCP()
	}
	return errPeerClosed
}

// errPeerClosed tells the read path that a close frame ended the connection.
var errPeerClosed = errors.New("websocket: peer closed")

// readFailed is where every error of the read path ends up: it moves the
// close state machine and returns what the reader gets. The caller holds
// readLock.
func (c *Conn) readFailed(err error) error {
	var pe *protocolError
	switch {
	case err == errPeerClosed:
	case errors.As(err, &pe):
		c.fail(pe)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.abort(fmt.Errorf("websocket: read: %w", err), SideLocal)
	case errors.As(err, new(*handlerError)):
		c.abort(err, SideLocal)
	default:
		c.abort(fmt.Errorf("websocket: read: %w", err), SidePeer)
	}
	// Another goroutine may be finishing the end; a reader that returns
	// the terminal error can count on Done and CloseEvent.
	<-c.done
	return c.terminalError()
}

// endedError is what a read that finds the connection ended returns: it
// waits for done, which finish closes just after it marks the end, so
// that the reader finds Done closed, as CloseEvent's doc promises.
func (c *Conn) endedError() error {
	<-c.done
	return c.terminalError()
}

// terminalError is what reads return once the connection has ended: the
// peer's close, the violation we failed the connection for, or an abnormal
// closure wrapping its cause.
func (c *Conn) terminalError() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.peerClosed {
		return &CloseError{Code: c.peerCode, Reason: c.peerReason}
	}
	var pe *protocolError
	if errors.As(c.cause, &pe) {
		return c.cause
	}
	cause := c.cause
	if cause == nil {
		cause = net.ErrClosed
	}
	return &CloseError{Code: StatusAbnormalClosure, cause: cause}
}
