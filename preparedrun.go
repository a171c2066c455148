package websocket

import (
	"sync"
	"time"
)

// A run of prepared messages to one server connection, as Broadcast
// writes several messages: their frames, built beforehand, go out
// gathered into writes of up to runBufSize, so that small messages cost
// one system call together rather than one each. A frame above
// runCopyMax goes out on its own, where copying it would cost more than
// the call it saves.
const (
	runBufSize = 64 << 10
	runCopyMax = 16 << 10
)

var runBufs = sync.Pool{New: func() any { b := make([]byte, 0, runBufSize); return &b }}

// sharesFrames reports whether c, a server, sends every one of pms as it
// was prepared, when it compresses or not (compressing), so that they can
// go out together.
func (c *Conn) sharesFrames(pms []*PreparedMessage, compress bool) bool {
	if c.role == roleClient {
		return false // it masks each frame
	}
	for _, pm := range pms {
		if _, _, ok := c.sharedFrame(pm, compress); !ok {
			return false
		}
	}
	return true
}

// writePreparedRunLocked sends pms, whose frames c shares (sharesFrames,
// with the same compress), in order and with no other data frame between
// them, within bound. The frame lock is let go between two writes, so
// that a pong or the frame of a Close need not wait for the whole run;
// a Close that began meanwhile stops it (writeFrame's error). Each write's
// messages are counted once it has gone out. The caller holds msgLock,
// which it releases.
func (c *Conn) writePreparedRunLocked(pms []*PreparedMessage, compress bool, bound time.Time) error {
	c.writeBound = bound.UnixNano()
	defer func() {
		c.writeBound = 0
		c.msgLock.unlock()
	}()
	bp := runBufs.Get().(*[]byte)
	defer runBufs.Put(bp)
	buf := (*bp)[:0]
	sent := 0 // pms[:sent] have gone out
	for i, pm := range pms {
		f, _, _ := c.sharedFrame(pm, compress)
		large := len(f.frame) > runCopyMax
		if len(buf) > 0 && (large || len(buf)+len(f.frame) > runBufSize) {
			if err := c.writeFrame(buf); err != nil {
				return err
			}
			c.countRun(pms[sent:i], compress)
			sent, buf = i, buf[:0]
		}
		if large {
			if err := c.writeFrame(f.frame); err != nil {
				return err
			}
			c.countRun(pms[i:i+1], compress)
			sent = i + 1
			continue
		}
		buf = append(buf, f.frame...)
	}
	if len(buf) > 0 {
		if err := c.writeFrame(buf); err != nil {
			return err
		}
		c.countRun(pms[sent:], compress)
	}
	return nil
}

// countRun counts the messages of a run that went out.
func (c *Conn) countRun(pms []*PreparedMessage, compress bool) {
	if c.counts == nil {
		return
	}
	for _, pm := range pms {
		f, rsv, _ := c.sharedFrame(pm, compress)
		c.countPrepared(pm, f, rsv)
	}
}
