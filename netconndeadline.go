package websocket

import (
	"sync"
	"time"
)

// streamDeadline is one of a NetConn's deadlines: a channel that is closed
// when the deadline passes, which a blocked Read or Write selects on. It
// lives on a runtime timer, not a goroutine, and touches nothing of the
// Conn: a deadline that passes makes the waiting call return, and a later
// deadline makes calls wait again.
type streamDeadline struct {
	mu     sync.Mutex
	timer  *time.Timer   // guarded by mu; closes passed when it fires
	passed chan struct{} // guarded by mu; replaced only once closed
}

func newStreamDeadline() *streamDeadline {
	return &streamDeadline{passed: make(chan struct{})}
}

// set moves the deadline to t; the zero time means none. A channel that is
// still open is kept, so that a call already waiting on it sees the new
// deadline; a closed one is replaced, so that calls wait again.
func (d *streamDeadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop() // a callback already running finds d.timer changed
		d.timer = nil
	}
	if isClosed(d.passed) && (t.IsZero() || time.Until(t) > 0) {
		d.passed = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		if !isClosed(d.passed) {
			close(d.passed)
		}
		return
	}
	var timer *time.Timer
	timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		// Stop may come too late for a callback already started: only
		// the timer still current may close the channel.
		if d.timer == timer && !isClosed(d.passed) {
			close(d.passed)
		}
	})
	d.timer = timer
}

// wait returns the channel that is closed once the deadline has passed.
func (d *streamDeadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.passed
}

// isClosed reports whether ch is closed; ch is only ever closed, never
// sent on.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
