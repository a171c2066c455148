package websocket

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// BroadcastResult counts what a broadcast did with each connection.
type BroadcastResult struct {
	// Delivered is how many connections took every message whole.
	Delivered int
	// Skipped is how many were not written to: they had ended or begun
	// closing, another write held them past the bound, or the context
	// ended before their turn. A skipped connection is left as it was,
	// but for one passed over in the middle of several messages (Close
	// began, or another writer came between two of them): it has the
	// messages before that point.
	Skipped int
	// Terminated is how many could not take the messages within the
	// bound and were terminated (CloseEvent.Err wraps ErrWriteTimeout):
	// a frame half sent cannot be followed by another.
	Terminated int
	// Failed is how many ended during the write for another reason, such
	// as the peer dropping TCP.
	Failed int
}

// broadcastWorkers is the most connections a broadcast writes to at once:
// enough that a few slow sockets do not hold up the rest, few enough that
// a broadcast to many thousands does not start a goroutine for each.
const broadcastWorkers = 64

// defaultBroadcastTimeout bounds a broadcast's write to a connection that
// has no WriteTimeout when the context has no deadline.
const defaultBroadcastTimeout = 10 * time.Second

// Broadcast writes the messages pms, in order, to every connection in
// conns, concurrently, and returns once each has been written to or passed
// over, with the counts of BroadcastResult. A slow or dead connection
// neither blocks the others nor piles up messages: the writes to each
// connection, all of pms together, are bounded by its WriteTimeout and by
// ctx's deadline, whichever comes first (10 s when neither is set). A
// connection whose writes do not finish in time is terminated; one that another write keeps busy
// until then is skipped. When ctx ends, the connections not yet written
// to, or waiting for another writer, are skipped, and Broadcast returns
// ctx's error once the writes in progress have ended; it returns nil when
// every connection had its turn.
//
// Several messages go to a server's connection together, gathered into
// writes of up to 64 KiB (one system call for a burst of small ones;
// a frame over 16 KiB goes in a write of its own), and no other message
// comes between them; a server whose messages arrive in bursts spends a
// system call per connection per burst rather than per message by
// passing what it has at hand. Pongs and Close's frame may go between
// two writes, and a Close that begins stops the rest. A connection that compresses
// with context takeover, or a client's, gets them one after another,
// in order, and another writer's message may come between them. With no
// messages, Broadcast writes nothing.
//
// Nothing is copied or compressed per connection but what
// PreparedMessage says. Safe from any goroutine, concurrently with every
// method of the connections.
func Broadcast(ctx context.Context, conns []*Conn, pms ...*PreparedMessage) (BroadcastResult, error) {
	for _, pm := range pms {
		if pm == nil {
			return BroadcastResult{}, errNilPrepared
		}
	}
	if ctx == nil {
		return BroadcastResult{}, errors.New("websocket: broadcast: nil Context")
	}
	if len(pms) == 0 {
		return BroadcastResult{}, nil
	}
	r := broadcastRuns.Get().(*broadcastRun)
	// Copied, so that the caller's slice (made at the call for a
	// variadic call) does not escape into the pooled run.
	r.ctx, r.conns, r.pms = ctx, conns, append(r.pms[:0], pms...)
	for range min(len(conns), broadcastWorkers) - 1 {
		r.wg.Add(1)
		go broadcastHelper()
		broadcastHandoff <- r
	}
	r.work() // this goroutine is one of the workers
	r.wg.Wait()
	res := BroadcastResult{
		Delivered:  int(r.delivered.Load()),
		Skipped:    int(r.skipped.Load()),
		Terminated: int(r.terminated.Load()),
		Failed:     int(r.failed.Load()),
	}
	var err error
	if r.cut.Load() {
		err = ctx.Err()
	}
	clear(r.pms) // the pool keeps the slice, not the messages
	*r = broadcastRun{pms: r.pms[:0]}
	broadcastRuns.Put(r)
	return res, err
}

// broadcastRun is one Broadcast's work, shared by its workers. Runs are
// pooled, and workers are started without arguments and given their run
// through a channel, so that a broadcast allocates nothing: no closure
// per worker, no counters on the heap.
type broadcastRun struct {
	ctx                                    context.Context
	conns                                  []*Conn
	pms                                    []*PreparedMessage
	next                                   atomic.Int64 // the index of the next connection to write
	delivered, skipped, terminated, failed atomic.Int64
	cut                                    atomic.Bool // ctx ended before some connection's turn
	wg                                     sync.WaitGroup
}

var broadcastRuns = sync.Pool{New: func() any { return new(broadcastRun) }}

// broadcastHandoff gives each helper the run it is started for. Every
// send has a helper started for it, so a send waits at most until one
// is scheduled; the buffer spares the sender that wait.
var broadcastHandoff = make(chan *broadcastRun, 4*broadcastWorkers)

// broadcastHelper is a worker of some run, handed over after it starts.
func broadcastHelper() {
	r := <-broadcastHandoff
	r.work()
	r.wg.Done()
}

// work writes to the connections of r not taken by another worker.
func (r *broadcastRun) work() {
	for {
		i := int(r.next.Add(1) - 1)
		if i >= len(r.conns) {
			return
		}
		if r.ctx.Err() != nil {
			r.cut.Store(true)
			r.skipped.Add(1)
			continue
		}
		if r.conns[i] == nil {
			r.skipped.Add(1)
			continue
		}
		switch r.conns[i].broadcastOne(r.ctx, r.pms) {
		case sendDelivered:
			r.delivered.Add(1)
		case sendSkipped:
			r.skipped.Add(1)
		case sendCut:
			r.cut.Store(true)
			r.skipped.Add(1)
		case sendTerminated:
			r.terminated.Add(1)
		default:
			r.failed.Add(1)
		}
	}
}

// Broadcast writes pms, in order, to every connection of the group; see
// the package's Broadcast. Connections that join during the broadcast are
// not written to. Safe from any goroutine.
func (g *Group) Broadcast(ctx context.Context, pms ...*PreparedMessage) (BroadcastResult, error) {
	g.mu.Lock()
	conns := make([]*Conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	return Broadcast(ctx, conns, pms...)
}

// sendOutcome is what became of one connection in a broadcast.
type sendOutcome uint8

const (
	sendDelivered sendOutcome = iota
	sendSkipped
	sendCut // skipped because the context ended
	sendTerminated
	sendFailed
)

// broadcastOne writes pms to c, in order, within the broadcast's bound
// for c: one bound for all of them.
func (c *Conn) broadcastOne(ctx context.Context, pms []*PreparedMessage) sendOutcome {
	if c.closing.Load() {
		return sendSkipped
	}
	bound, ok := ctx.Deadline()
	if own := time.Now().Add(c.writeTimeout); c.writeTimeout > 0 && (!ok || own.Before(bound)) {
		bound, ok = own, true
	}
	if !ok {
		bound = time.Now().Add(defaultBroadcastTimeout)
	}
	if !c.lockUntil(&c.msgLock, ctx.Done(), bound) {
		return passedOver(ctx)
	}
	if compress := c.compressing(); len(pms) > 1 && c.sharesFrames(pms, compress) {
		return c.outcomeOf(c.writePreparedRunLocked(pms, compress, bound))
	}
	return c.broadcastEachLocked(ctx, pms, bound)
}

// broadcastEachLocked writes pms to c one message at a time, for a client
// (which masks each frame) or a connection that compresses each message
// for itself: another writer's message may come between two of them. The
// caller holds msgLock, which the first write releases.
func (c *Conn) broadcastEachLocked(ctx context.Context, pms []*PreparedMessage, bound time.Time) sendOutcome {
	for i, pm := range pms {
		if i > 0 && !c.lockUntil(&c.msgLock, ctx.Done(), bound) {
			return passedOver(ctx) // with the messages before this one sent
		}
		if err := c.writePreparedLocked(pm, bound); err != nil {
			return c.outcomeOf(err)
		}
	}
	return sendDelivered
}

// passedOver is the outcome for a connection that another writer held
// until the bound passed, or until ctx ended.
func passedOver(ctx context.Context) sendOutcome {
	if ctx.Err() != nil {
		return sendCut
	}
	return sendSkipped
}

// outcomeOf classifies the error of a broadcast's write to c.
func (c *Conn) outcomeOf(err error) sendOutcome {
	switch {
	case err == nil:
		return sendDelivered
	case errors.Is(err, ErrWriteTimeout), errors.Is(err, os.ErrDeadlineExceeded):
		return sendTerminated
	case c.closing.Load() && !c.ended():
		return sendSkipped // Close began first: no data frame may follow its frame
	}
	return sendFailed
}

// lockUntil takes l, waiting no later than bound, unless the connection
// ends or stop is closed first. Only a lock that is held costs a timer.
func (c *Conn) lockUntil(l *waitLock, stop <-chan struct{}, bound time.Time) bool {
	if l.tryLock() {
		return true
	}
	t := time.NewTimer(time.Until(bound))
	defer t.Stop()
	return l.lockWithin(c.done, stop, t.C)
}

// armDataWriteDeadline is armWriteDeadline for a data frame, which a
// broadcast may bound more tightly (writeBound). The caller holds msgLock
// and frameLock.
func (c *Conn) armDataWriteDeadline() {
	if c.writeBound == 0 {
		c.armWriteDeadline()
		return
	}
	bound := time.Unix(0, c.writeBound)
	if d := time.Now().Add(c.writeTimeout); c.writeTimeout > 0 && d.Before(bound) {
		bound = d
	}
	_ = c.stream.SetWriteDeadline(bound)
}

// endDataWrite puts back the deadline of the application's
// SetWriteDeadline after a write that a broadcast bounded (with a
// WriteTimeout, the next write arms its own). The caller holds msgLock
// and frameLock.
func (c *Conn) endDataWrite() {
	if c.writeBound == 0 || c.writeTimeout > 0 {
		return
	}
	var t time.Time
	if ns := c.writeDeadline.Load(); ns != 0 {
		t = time.Unix(0, ns)
	}
	_ = c.stream.SetWriteDeadline(t)
}
