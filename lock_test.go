package websocket

import (
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"
)

// TestWaitLockExcludes: many goroutines, some giving up while they wait,
// never hold the lock together, and every one that stays gets it.
func TestWaitLockExcludes(t *testing.T) {
	var l waitLock
	var inside, got int
	abort := make(chan struct{})
	var wg sync.WaitGroup
	const workers, rounds = 8, 2000
	gaveUp := make([]int, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				// Odd workers wait with a stop channel that is already
				// closed on every third round: they give up at once unless
				// the lock is free.
				var stop chan struct{}
				if w%2 == 1 && i%3 == 0 {
					stop = make(chan struct{})
					close(stop)
				}
				if !l.lockOr(abort, stop) {
					gaveUp[w]++
					continue
				}
				inside++
				if inside != 1 {
					t.Errorf("%d goroutines hold the lock", inside)
				}
				got++
				inside--
				l.unlock()
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range gaveUp {
		total += n
	}
	require.Equal(t, workers*rounds, got+total)
	require.Equal(t, lockFree, int(l.state.Load()), "the lock is left free")
}

// TestWaitLockWaiters: a waiter that gives up does not take the wake-up
// meant for one that stays, and a waiter blocks durably for synctest.
func TestWaitLockWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l waitLock
		require.True(t, l.lock(nil))
		quitter, stayed := make(chan struct{}), make(chan bool)
		gaveUp := make(chan bool)
		go func() { gaveUp <- l.lockOr(nil, quitter) }()
		go func() { stayed <- l.lock(nil) }()
		synctest.Wait() // both are blocked on the lock
		close(quitter)
		require.False(t, <-gaveUp)
		l.unlock()
		require.True(t, <-stayed, "the remaining waiter gets the lock")
		l.unlock()

		// A connection's end releases its waiters.
		require.True(t, l.lock(nil))
		done := make(chan struct{})
		result := make(chan bool)
		go func() { result <- l.lock(done) }()
		synctest.Wait()
		close(done)
		require.False(t, <-result)
		l.unlock()
		require.True(t, l.state.CompareAndSwap(lockFree, lockHeld), "free after its holder left")
	})
}
