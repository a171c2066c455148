package websocket

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// How a connection's end is reported: counted in Stats, passed to the
// OnEnd hook, and logged when it was abnormal.

// ConnEnd is what the OnEnd hook learns of a connection that has ended.
type ConnEnd struct {
	Event       CloseEvent
	Cause       Cause
	RemoteAddr  net.Addr
	Subprotocol string
	Opened      time.Time     // when the handshake completed
	Lifetime    time.Duration // from Opened to the end
	// CloseDuration is the closing handshake's: from the first close
	// frame, sent or received, to TCP closed. Zero when none was sent or
	// received (Terminate, a dropped connection, a timeout while open).
	CloseDuration time.Duration
	Traffic       Traffic // this connection's
}

// Cause says why a connection ended, in a word fit for a metric's label:
// why it began to end when it ended cleanly, and what kept it from a
// clean end when it did not.
type Cause string

const (
	CausePeerClose         Cause = "peer_close"          // the peer's close frame came first, and was answered
	CauseClose             Cause = "close"               // the application's Close
	CauseDrain             Cause = "drain"               // Group.Shutdown: its Close, or its Terminate at the deadline
	CauseTerminate         Cause = "terminate"           // the application's Terminate
	CauseCloseTimeout      Cause = "close_timeout"       // the closing handshake did not finish within CloseTimeout
	CausePongTimeout       Cause = "pong_timeout"        // the heartbeat's ping went unanswered
	CauseWriteTimeout      Cause = "write_timeout"       // a write did not finish in time
	CauseFrameTimeout      Cause = "frame_timeout"       // the peer began a frame and stopped
	CauseReadDeadline      Cause = "read_deadline"       // a read deadline of the application's passed
	CauseMessageTooBig     Cause = "message_too_big"     // over the read limit: 1009
	CauseInvalidUTF8       Cause = "invalid_utf8"        // text that is not UTF-8: 1007
	CauseBadCompressedData Cause = "bad_compressed_data" // compressed data that does not inflate: 1007
	CauseProtocolError     Cause = "protocol_error"      // any other violation of RFC 6455 or 7692: 1002
	CauseHandlerError      Cause = "handler_error"       // a handler of the application's (SetPongHandler) failed
	CausePeerGone          Cause = "peer_gone"           // the peer closed or reset TCP without a close frame
	CauseIOError           Cause = "io_error"            // a read or write of ours failed
)

// causeOf names the cause of an end.
func causeOf(ev CloseEvent, drained bool) Cause {
	err := ev.Err
	switch {
	case err == nil && ev.Initiator == SidePeer:
		return CausePeerClose
	case err == nil && drained:
		return CauseDrain
	case err == nil:
		return CauseClose
	case errors.Is(err, ErrTerminated) && drained:
		return CauseDrain
	case errors.Is(err, ErrTerminated):
		return CauseTerminate
	case errors.Is(err, ErrCloseTimeout):
		return CauseCloseTimeout
	case errors.Is(err, ErrPongTimeout):
		return CausePongTimeout
	case errors.Is(err, ErrWriteTimeout):
		return CauseWriteTimeout
	case errors.Is(err, ErrFrameTimeout):
		return CauseFrameTimeout
	case errors.Is(err, ErrMessageTooBig):
		return CauseMessageTooBig
	case errors.Is(err, ErrInvalidUTF8):
		return CauseInvalidUTF8
	case errors.Is(err, ErrBadCompressedData):
		return CauseBadCompressedData
	case errors.Is(err, ErrProtocol):
		return CauseProtocolError
	case errors.As(err, new(*handlerError)):
		return CauseHandlerError
	case errors.Is(err, os.ErrDeadlineExceeded):
		return CauseReadDeadline
	case ev.Initiator == SidePeer:
		return CausePeerGone
	}
	return CauseIOError
}

// connCounts is a connection's own count of its traffic, kept only when
// someone will read it (Stats, OnEnd). Each field is written by one
// goroutine at a time, the reader or the writer of the moment, so the
// atomic adds never contend; they are atomic for Snapshot's sake.
type connCounts struct {
	messagesIn, messagesOut               atomic.Uint64
	bytesIn, bytesOut                     atomic.Uint64
	compressedIn, compressedOut           atomic.Uint64
	compressedBytesIn, compressedBytesOut atomic.Uint64
	inflatedBytesIn, deflatedBytesOut     atomic.Uint64

	stats  *Stats
	onEnd  func(ConnEnd)
	logger *slog.Logger
	opened time.Time
	// closeStart is when the first close frame was sent or received, in
	// Unix nanoseconds; 0 until then. Guarded by closeMu.
	closeStart int64
	drained    atomic.Bool // Group.Shutdown is closing the connection
	// outCompressed says whether the message being written is
	// compressed. Guarded by msgLock.
	outCompressed bool
}

// load reads the counts. A nil connCounts reads as zero. A part is read
// before its total, which frameIn and frameOut add to first, so that a
// total is never seen below its compressed part while traffic flows.
func (cc *connCounts) load() Traffic {
	if cc == nil {
		return Traffic{}
	}
	var t Traffic
	t.CompressedIn, t.CompressedOut = cc.compressedIn.Load(), cc.compressedOut.Load()
	t.CompressedBytesIn, t.CompressedBytesOut = cc.compressedBytesIn.Load(), cc.compressedBytesOut.Load()
	t.InflatedBytesIn, t.DeflatedBytesOut = cc.inflatedBytesIn.Load(), cc.deflatedBytesOut.Load()
	t.MessagesIn, t.MessagesOut = cc.messagesIn.Load(), cc.messagesOut.Load()
	t.BytesIn, t.BytesOut = cc.bytesIn.Load(), cc.bytesOut.Load()
	return t
}

// frameIn counts a data frame read: its payload, and the message when it
// is the first. The caller holds readLock.
func (cc *connCounts) frameIn(first, compressed bool, n int64) {
	if first {
		cc.messagesIn.Add(1)
		if compressed {
			cc.compressedIn.Add(1)
		}
	}
	cc.bytesIn.Add(uint64(n))
	if compressed {
		cc.compressedBytesIn.Add(uint64(n))
	}
}

// frameOut counts a data frame written; rsv1 marks the first frame of a
// compressed message. The caller holds msgLock.
func (cc *connCounts) frameOut(first, rsv1 bool, n int) {
	if first {
		cc.messagesOut.Add(1)
		cc.outCompressed = rsv1
		if rsv1 {
			cc.compressedOut.Add(1)
		}
	}
	cc.bytesOut.Add(uint64(n))
	if cc.outCompressed {
		cc.compressedBytesOut.Add(uint64(n))
	}
}

// newConnCounts returns the counts of a connection made with cfg, or nil
// when nobody will read them.
func newConnCounts(cfg *connConfig) *connCounts {
	if cfg.stats == nil && cfg.onEnd == nil && cfg.logger == nil {
		return nil
	}
	return &connCounts{stats: cfg.stats, onEnd: cfg.onEnd, logger: cfg.logger, opened: time.Now()}
}

// reportEnd counts the end of the connection in Stats, then hands it to
// the hook and the log in a goroutine of their own, so that neither can
// hold up the end. Called once, by finish, before Done is closed.
func (c *Conn) reportEnd(ev CloseEvent) {
	cc := c.counts
	if cc == nil {
		return
	}
	now := time.Now()
	end := ConnEnd{
		Event:       ev,
		Cause:       causeOf(ev, cc.drained.Load()),
		RemoteAddr:  c.stream.RemoteAddr(),
		Subprotocol: c.subprotocol,
		Opened:      cc.opened,
		Lifetime:    now.Sub(cc.opened),
		Traffic:     cc.load(),
	}
	c.closeMu.Lock()
	if cc.closeStart != 0 {
		end.CloseDuration = max(now.Sub(time.Unix(0, cc.closeStart)), 1)
	}
	c.closeMu.Unlock()
	if cc.stats != nil {
		cc.stats.ended(c, &end)
	}
	if cc.onEnd != nil || (cc.logger != nil && abnormal(end)) {
		go cc.tell(end)
	}
}

// tell logs an abnormal end and calls the hook.
func (cc *connCounts) tell(end ConnEnd) {
	if cc.logger != nil && abnormal(end) {
		ev := end.Event
		cc.logger.Warn("websocket connection ended abnormally",
			slog.Any("remote", end.RemoteAddr),
			slog.Int("code", int(ev.Code)),
			slog.String("reason", ev.Reason),
			slog.String("cause", string(end.Cause)),
			slog.String("initiator", ev.Initiator.String()),
			slog.Duration("duration", end.Lifetime),
			slog.Any("err", ev.Err))
	}
	if cc.onEnd != nil {
		cc.onEnd(end)
	}
}

// abnormal reports whether an end is worth a line in the log: a protocol
// failure on either side (1002, 1007, 1009), or an end without a close
// frame (1006) that the application did not ask for.
func abnormal(end ConnEnd) bool {
	switch end.Event.Code {
	case StatusProtocolError, StatusInvalidFramePayloadData, StatusMessageTooBig:
		return true
	case StatusAbnormalClosure:
		return end.Cause != CauseTerminate && end.Cause != CauseDrain
	}
	switch end.Cause {
	case CauseMessageTooBig, CauseInvalidUTF8, CauseBadCompressedData, CauseProtocolError:
		return true // we failed the connection; the peer's answer carries our code or none
	}
	return false
}

// markDrained records that Group.Shutdown ends the connection.
func (c *Conn) markDrained() {
	if cc := c.counts; cc != nil {
		cc.drained.Store(true)
	}
}
