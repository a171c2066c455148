package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a60656ec/websocket"
)

// pubStats is what the publishers did: how many messages each got out
// and how far behind its schedule the latest one went.
type pubStats struct {
	sent     []atomic.Int64 // by publisher
	maxLag   atomic.Int64   // nanoseconds a send went past its scheduled time, at most
	mu       sync.Mutex
	firstErr error
}

// total returns how many messages the publishers got out.
func (s *pubStats) total() int64 {
	var n int64
	for i := range s.sent {
		n += s.sent[i].Load()
	}
	return n
}

// publishAll has the first len(pubs) clients say window win's total
// messages between them, message k at start + k/rate and by publisher k mod len(pubs), and
// returns once they are done, or ctx has ended. Sending is open-loop: a late message does
// not push the next ones back, so the rate is the one asked even when the
// chat falls behind.
func publishAll(ctx context.Context, pubs []*client, win int, total int64, rate float64, size int, start time.Time) *pubStats {
	st := &pubStats{sent: make([]atomic.Int64, len(pubs))}
	var wg sync.WaitGroup
	for p, c := range pubs {
		wg.Go(func() { publish(ctx, c, win, p, len(pubs), total, rate, size, start, st) })
	}
	wg.Wait()
	return st
}

// publish sends publisher p's share, its sequence numbers 0, 1, 2, ...
// A write error ends it: the connection has ended, and the report counts
// what it did not send.
func publish(ctx context.Context, c *client, win, p, pubs int, total int64, rate float64, size int, start time.Time, st *pubStats) {
	buf := make([]byte, 0, size+64)
	for k, seq := int64(p), int64(0); k < total; k, seq = k+int64(pubs), seq+1 {
		due := start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		now := time.Now()
		buf = append(buf[:0], `{"text":"`...)
		buf = appendLoadText(buf, win, p, seq, now.UnixNano(), size)
		buf = append(buf, `"}`...)
		if err := c.conn.WriteMessage(websocket.TextMessage, buf); err != nil {
			st.mu.Lock()
			if st.firstErr == nil {
				st.firstErr = err
			}
			st.mu.Unlock()
			return
		}
		st.sent[p].Add(1)
		for lag := int64(now.Sub(due)); ; {
			m := st.maxLag.Load()
			if lag <= m || st.maxLag.CompareAndSwap(m, lag) {
				break
			}
		}
	}
}
