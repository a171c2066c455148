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
	awaiting bool   // a ping is out and no pong has come since
	gen      uint64 // counts SetHeartbeat calls, so that a stale timer does nothing
	stopped  bool   // the connection is closing: no more heartbeat
}

// SetHeartbeat pings the peer every interval and, when no pong arrives
// within pongTimeout of a ping, terminates the connection: its readers get
// a *CloseError with StatusAbnormalClosure wrapping ErrPongTimeout, and its
// CloseEvent says so. A pongTimeout of zero or above interval means
// interval. An interval of zero or less turns the heartbeat off. Pongs are
// read by the read methods, so some goroutine must be reading. The
// heartbeat stops when the closing handshake starts, which has a timeout
// of its own. Safe from any goroutine; it replaces the Upgrader's
// PingInterval and PongTimeout.
func (c *Conn) SetHeartbeat(interval, pongTimeout time.Duration) {
	hb := &c.hb
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.timer != nil {
		hb.timer.Stop()
		hb.timer = nil
	}
	if interval <= 0 || hb.stopped {
		return
	}
	if pongTimeout <= 0 || pongTimeout > interval {
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
	hb := &c.hb
	hb.mu.Lock()
	if hb.timer == nil || hb.gen != gen {
		hb.mu.Unlock()
		return
	}
	if hb.awaiting {
		hb.timer = nil
		hb.mu.Unlock()
		c.abort(ErrPongTimeout, SideLocal)
		return
	}
	if wait := time.Until(hb.nextPing); wait > 0 {
		// The last pong came early: sleep until the next ping is due.
		hb.timer.Reset(wait)
		hb.mu.Unlock()
		return
	}
	hb.awaiting = true
	hb.nextPing = time.Now().Add(hb.interval)
	hb.timer.Reset(hb.timeout)
	hb.mu.Unlock()
	// A failed write ends the connection on its own; a write stuck behind
	// a blocked writer is cut short by the pong timeout.
	_ = c.writeControl(opPing, nil, "", nil)
}

// pongArrived tells the heartbeat that the peer answered.
func (c *Conn) pongArrived() {
	hb := &c.hb
	hb.mu.Lock()
	hb.awaiting = false
	hb.mu.Unlock()
}

// stopHeartbeat turns the heartbeat off for good, when the closing
// handshake starts or the connection ends.
func (c *Conn) stopHeartbeat() {
	hb := &c.hb
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.stopped = true
	if hb.timer != nil {
		hb.timer.Stop()
		hb.timer = nil
	}
}
