package websocket

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBroadcastSlowClient: in a group where one client does not read, a
// broadcast reaches every other client at once, and returns when the
// stuck write's bound passes, with that client terminated and counted.
func TestBroadcastSlowClient(t *testing.T) {
	for _, tt := range []struct {
		name     string
		u        *Upgrader
		ctxBound time.Duration // a deadline on the broadcast's context; 0 for none
		want     time.Duration // when the broadcast returns
	}{
		{name: "WriteTimeout", u: &Upgrader{WriteTimeout: time.Second}, want: time.Second},
		{name: "context deadline", u: &Upgrader{}, ctxBound: 2 * time.Second, want: 2 * time.Second},
		{name: "the earlier of both", u: &Upgrader{WriteTimeout: 3 * time.Second}, ctxBound: time.Second, want: time.Second},
		{name: "neither", u: &Upgrader{}, want: defaultBroadcastTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				group := &Group{}
				tt.u.Group = group
				start := time.Now()
				got := make(chan time.Duration, 8)
				for range 3 {
					p, _ := pipeConn(t, tt.u)
					go func() {
						if f, err := p.readFrame(); err == nil && string(f.payload) == "tick" {
							got <- time.Since(start)
						}
					}()
				}
				_, stuck := pipeConn(t, tt.u) // its peer never reads
				pm, err := NewPreparedMessage(TextMessage, []byte("tick"))
				require.NoError(t, err)
				ctx := context.Background()
				if tt.ctxBound > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.ctxBound)
					defer cancel()
				}
				res, err := group.Broadcast(ctx, pm)
				assert.Equal(t, tt.want, time.Since(start), "the broadcast returned")
				assert.Equal(t, BroadcastResult{Delivered: 3, Terminated: 1}, res)
				assert.NoError(t, err, "every connection had its turn")
				for range 3 {
					assert.Zero(t, <-got, "a reading client waited")
				}
				ev := wantDone(t, stuck)
				assert.ErrorIs(t, ev.Err, ErrWriteTimeout)
			})
		})
	}
}

// TestBroadcastSkips: a connection that has ended or is closing is
// skipped, and so is one that another writer holds past the bound; a
// context that has ended skips everyone; none of them is harmed.
func TestBroadcastSkips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &Upgrader{WriteTimeout: time.Second}
		_, ended := pipeConn(t, u)
		require.NoError(t, ended.Terminate())
		p, closing := pipeConn(t, u)
		go func() { _ = closing.Close(StatusNormalClosure, "") }()
		p.wantClose(StatusNormalClosure)
		bp, busy := pipeConn(t, u)
		go func() { _, _ = bp.readFrame() }()
		w, err := busy.NextWriter(TextMessage) // holds the message lock
		require.NoError(t, err)

		pm, err := NewPreparedMessage(TextMessage, []byte("news"))
		require.NoError(t, err)
		conns := []*Conn{ended, closing, busy}
		start := time.Now()
		res, err := Broadcast(context.Background(), conns, pm)
		require.NoError(t, err)
		assert.Equal(t, BroadcastResult{Skipped: 3}, res)
		assert.Equal(t, time.Second, time.Since(start), "the busy connection was waited for until the bound")
		select {
		case <-busy.Done():
			t.Fatal("a skipped connection was ended")
		default:
		}
		require.NoError(t, w.Close())

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err = Broadcast(ctx, []*Conn{busy}, pm)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, BroadcastResult{Skipped: 1}, res)
	})
}

// TestBroadcastCancelWhileBusy: a broadcast waiting for a connection that
// another writer holds gives up as soon as its context is cancelled,
// counting the connection skipped and returning the context's error.
func TestBroadcastCancelWhileBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bp, busy := pipeConn(t, &Upgrader{WriteTimeout: time.Minute})
		go func() { _, _ = bp.readFrame() }()
		w, err := busy.NextWriter(TextMessage) // holds the message lock
		require.NoError(t, err)
		pm, err := NewPreparedMessage(TextMessage, []byte("news"))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(time.Second) // the broadcast is waiting by then, on the bubble's clock
			cancel()
		}()
		start := time.Now()
		res, err := Broadcast(ctx, []*Conn{busy, nil}, pm)
		assert.Equal(t, time.Second, time.Since(start), "the broadcast gave up when cancelled")
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, BroadcastResult{Skipped: 2}, res)
		require.NoError(t, w.Close())
		_, err = Broadcast(nil, []*Conn{busy}, pm) // a nil Context is refused, not a panic
		assert.Error(t, err)
	})
}
