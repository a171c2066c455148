package websocket

import (
	"sync/atomic"
	"time"
)

// frameTimer bounds how long the read path may wait for the rest of a
// frame once its first byte has arrived: a peer that sends part of a
// frame and stops would otherwise hold the reading goroutine and a read
// buffer until something else ends the connection, and with no read
// deadline and no heartbeat nothing does.
//
// Each frame gets the frame timeout as a budget of waiting, spent only
// while a read waits for the peer: time the application takes between
// two reads of a message is not the peer's (it may be what keeps the
// peer from sending, through TCP's flow control), and a frame that
// arrives whole costs no timer operation at all. On a socket only a read
// that finds nothing to read counts as a wait; on other streams (TLS)
// every read mid-frame does. The wait for a frame's first byte is not
// bounded here: an idle peer is the heartbeat's and the read deadline's.
type frameTimer struct {
	c       *Conn
	timeout time.Duration // zero or less: no bound
	timer   atomic.Pointer[time.Timer]

	// Guarded by readLock.
	budget    time.Duration // left to the current frame
	waitStart time.Time

	waits   atomic.Uint64 // counts ended waits, so that a stale firing does nothing
	armedAt atomic.Uint64 // waits when the timer was last armed
}

// defaultFrameTimeout is the bound when the Upgrader leaves it zero: long
// enough for a message of the default read limit (1 MiB) over a link of
// 20 KB/s.
const defaultFrameTimeout = 60 * time.Second

// waitWatcher is told when the read buffer waits for the peer mid-frame.
type waitWatcher interface {
	waitBegins()
	waitEnds()
}

// beginFrame is called once a frame's first byte is buffered: from then on
// a wait for more bytes spends the frame's budget. The caller holds
// readLock.
func (c *Conn) beginFrame() {
	if c.ft.timeout > 0 {
		c.br.midFrame = true
		c.ft.budget = c.ft.timeout
	}
}

// endFrame is called once the frame is read whole. The caller holds
// readLock.
func (c *Conn) endFrame() { c.br.midFrame = false }

// waitBegins arms the timer for what is left of the frame's budget. The
// caller holds readLock.
func (ft *frameTimer) waitBegins() {
	ft.waitStart = time.Now()
	ft.armedAt.Store(ft.waits.Load())
	if t := ft.timer.Load(); t != nil {
		t.Reset(ft.budget)
		return
	}
	ft.timer.Store(time.AfterFunc(ft.budget, ft.fired))
	if ft.c.ended() {
		ft.stop() // finish may have looked before the store
	}
}

// waitEnds stops the timer and takes the wait from the budget. The caller
// holds readLock.
func (ft *frameTimer) waitEnds() {
	ft.waits.Add(1)
	ft.timer.Load().Stop()
	ft.budget -= time.Since(ft.waitStart)
}

// fired terminates the connection, unless the wait it was armed for has
// ended meanwhile.
func (ft *frameTimer) fired() {
	if ft.waits.Load() == ft.armedAt.Load() {
		ft.c.abort(ErrFrameTimeout, SideLocal)
	}
}

// stop stops the timer for good once the connection has ended, from any
// goroutine.
func (ft *frameTimer) stop() {
	if t := ft.timer.Load(); t != nil {
		t.Stop()
	}
}
