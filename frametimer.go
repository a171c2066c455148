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
// peer from sending, through TCP's flow control). A frame that arrives
// whole costs no timer operation at all, one that needs more reads one
// arming and one stop. On a socket only a read
// that finds nothing to read counts as a wait; on other streams (TLS)
// every read mid-frame does. The wait for a frame's first byte is not
// bounded here: an idle peer is the heartbeat's and the read deadline's.
type frameTimer struct {
	c       *Conn
	timeout time.Duration // zero or less: no bound
	timer   atomic.Pointer[time.Timer]
	armed   bool // guarded by readLock: the timer runs for the current frame

	// Shared with the timer's goroutine.
	frames    atomic.Uint64 // counts frames that armed the timer, and their ends
	armedFor  atomic.Uint64 // frames when the timer was armed: a firing for another does nothing
	spent     atomic.Int64  // nanoseconds of the frame's ended waits
	waitSince atomic.Int64  // clock reading when the current wait began; 0 when none
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

// clockBase makes clock readings monotonic nanoseconds.
var clockBase = time.Now()

func clock() int64 { return int64(time.Since(clockBase)) + 1 } // never 0

// beginFrame is called once a frame's first byte is buffered: from then on
// a wait for more bytes spends the frame's budget. The caller holds
// readLock.
func (c *Conn) beginFrame() { c.br.midFrame = c.ft.timeout > 0 }

// endFrame is called once the frame is read whole. The caller holds
// readLock.
func (c *Conn) endFrame() {
	c.br.midFrame = false
	if ft := &c.ft; ft.armed {
		ft.armed = false
		ft.frames.Add(1)
		ft.timer.Load().Stop()
	}
}

// waitBegins marks the start of a wait; the frame's first wait arms the
// timer, which is not touched again until the frame ends: a frame read
// in many pieces pays for one timer, not one per read. The caller holds
// readLock.
func (ft *frameTimer) waitBegins() {
	ft.waitSince.Store(clock())
	if ft.armed {
		return
	}
	ft.armed = true
	ft.spent.Store(0)
	ft.armedFor.Store(ft.frames.Add(1))
	if t := ft.timer.Load(); t != nil {
		t.Reset(ft.timeout)
	} else {
		ft.timer.Store(time.AfterFunc(ft.timeout, ft.fired))
	}
	if ft.c.ended() {
		ft.stop() // finish may have stopped it before this arming
	}
}

// waitEnds adds the wait to what the frame has spent. The caller holds
// readLock.
func (ft *frameTimer) waitEnds() {
	ft.spent.Add(clock() - ft.waitSince.Swap(0))
}

// fired runs when the frame's budget would be spent had every moment since
// the timer was armed been a wait. It terminates the connection if the
// waits have really spent it, and otherwise sleeps for what is left; a
// firing for a frame that has ended does nothing. Its checks race with
// the reader's next frame, harmlessly: at worst it re-arms the timer for
// a frame that has ended, whose next firing does nothing, or cuts a frame
// whose budget had run out at that very moment.
func (ft *frameTimer) fired() {
	if ft.frames.Load() != ft.armedFor.Load() {
		return
	}
	spent := ft.spent.Load()
	if since := ft.waitSince.Load(); since != 0 {
		spent += clock() - since
	}
	if left := ft.timeout - time.Duration(spent); left > 0 {
		ft.timer.Load().Reset(left)
		return
	}
	ft.c.abort(ErrFrameTimeout, SideLocal)
}

// stop stops the timer for good once the connection has ended, from any
// goroutine.
func (ft *frameTimer) stop() {
	if t := ft.timer.Load(); t != nil {
		t.Stop()
	}
}
