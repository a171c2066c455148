package websocket

import (
	"sync"
	"time"
)

// heartbeat pings the peer every interval and terminates the connection
// when no pong comes within the pong timeout: the way to find a peer that
// vanished without closing TCP (a laptop asleep, a phone out of signal).
// It runs on a runtime timer; no goroutine waits between beats.
type heartbeat struct {
	mu       sync.Mutex
	timer    *time.Timer // nil while off
	interval time.Duration
	timeout  time.Duration
	nextPing time.Time
	pongDue  time.Time // when the first ping not answered yet times out
	awaiting bool      // a ping is out and no pong has come since
	gen      uint64    // counts SetHeartbeat calls, so that a stale timer does nothing
	stopped  bool      // the connection is closing: no more heartbeat
}

// SetHeartbeat pings the peer every interval and, when no pong arrives
// within pongTimeout of a ping, terminates the connection: its readers get
// a *CloseError with StatusAbnormalClosure wrapping ErrPongTimeout, and its
// CloseEvent says so. A pongTimeout of zero means interval; one above
// interval lets pings go on every interval while the first unanswered one
// waits for a pong (gorilla/websocket's pingPeriod and pongWait, as 54 s
// and 60 s). An interval of zero or less turns the heartbeat off. Pongs are
// read by the read methods, so some goroutine must be reading. The
// heartbeat stops when the closing handshake starts, which has a timeout
// of its own. Safe from any goroutine; it replaces the Upgrader's
// PingInterval and PongTimeout.
func (c *Conn) SetHeartbeat(interval, pongTimeout time.Duration) {
	hb := c.hb.Load()
	if hb == nil {
		if interval <= 0 {
			return // off, and never on: nothing to stop
		}
		// Made on first use, so that a connection without a heartbeat
		// does not carry one.
		c.hb.CompareAndSwap(nil, new(heartbeat)) // or another SetHeartbeat made it
		hb = c.hb.Load()
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.timer != nil {
		hb.timer.Stop()
		hb.timer = nil
	}
	// closing is set before stopHeartbeat looks for a heartbeat: one made
	// after that look finds it set here.
	if interval <= 0 || hb.stopped || c.closing.Load() {
		return
	}
	if pongTimeout <= 0 {
		pongTimeout = interval
	}
	hb.interval, hb.timeout, hb.awaiting = interval, pongTimeout, false
	hb.nextPing = time.Now().Add(interval)
	hb.gen++
	gen := hb.gen
	hb.timer = time.AfterFunc(interval, func() { c.beat(gen) })
}

// beat runs when the heartbeat's timer fires: after a ping's pong timeout,
// or when the next ping is due.
func (c *Conn) beat(gen uint64) {
	hb := c.hb.Load() // not nil: it armed the timer
	hb.mu.Lock()
	if hb.timer == nil || hb.gen != gen {
		hb.mu.Unlock()
		return
	}
	now := time.Now()
	if hb.awaiting && !now.Before(hb.pongDue) {
		hb.timer = nil
		hb.mu.Unlock()
		c.abort(ErrPongTimeout, SideLocal)
		return
	}
	if now.Before(hb.nextPing) {
		// The last pong came early, or a ping waits for its pong past
		// the next ping: sleep until whichever comes first.
		hb.timer.Reset(hb.nextWake().Sub(now))
		hb.mu.Unlock()
		return
	}
	if !hb.awaiting {
		hb.awaiting = true
		hb.pongDue = now.Add(hb.timeout)
	}
	hb.nextPing = now.Add(hb.interval)
	hb.timer.Reset(hb.nextWake().Sub(now))
	hb.mu.Unlock()
	// A failed write ends the connection on its own; a write stuck behind
	// a blocked writer is cut short by the pong timeout.
	_ = c.writeControl(opPing, nil, "", nil)
}

// nextWake is when the heartbeat's timer must fire next: the next ping,
// or the pong timeout of the ping out, whichever comes first. The caller
// holds mu.
func (hb *heartbeat) nextWake() time.Time {
	if hb.awaiting && hb.pongDue.Before(hb.nextPing) {
		return hb.pongDue
	}
	return hb.nextPing
}

// pongArrived tells the heartbeat that the peer answered.
func (c *Conn) pongArrived() {
	hb := c.hb.Load()
	if hb == nil {
		return // an unsolicited pong, or one for Ping
	}
	hb.mu.Lock()
	hb.awaiting = false
	hb.mu.Unlock()
}

// stopHeartbeat turns the heartbeat off for good, when the closing
// handshake starts or the connection ends.
func (c *Conn) stopHeartbeat() {
	hb := c.hb.Load()
	if hb == nil {
		return // never on; closing keeps SetHeartbeat from turning it on
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.stopped = true
	if hb.timer != nil {
		hb.timer.Stop()
		hb.timer = nil
	}
}
