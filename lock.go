package websocket

import (
	"sync/atomic"
	"time"
)

// waitLock is a mutex whose waiters can give up: when the connection ends,
// or when a caller's own stop channel closes. sync.Mutex cannot offer that.
//
// Taking a free lock and giving back one that nobody waits for is one
// atomic operation each: a message takes several locks, and a channel
// operation costs several times more. Waiters sleep on a channel, made the
// first time two goroutines meet on the lock, so that a connection that
// never sees contention carries no channel, and so that a blocked waiter
// is durably blocked for testing/synctest.
//
// The protocol is the classic three-state mutex: a waiter marks the lock
// contended before it sleeps, and unlock of a contended lock leaves one
// token in the channel. Whoever takes a token must try the lock again
// (contend), so that no token is lost while a waiter still sleeps.
type waitLock struct {
	state atomic.Int32                  // lockFree, lockHeld or lockContended
	wake  atomic.Pointer[chan struct{}] // capacity 1; nil until first contended
}

const (
	lockFree      = 0
	lockHeld      = 1 // held, nobody waits
	lockContended = 2 // held, and someone may be waiting
)

// lock takes the lock, or returns false once abort is closed. A free lock
// is taken without looking at abort: callers check the connection's state
// once they hold it.
func (l *waitLock) lock(abort <-chan struct{}) bool { return l.lockOr(abort, nil) }

// lockOr is lock that also gives up once stop is closed (nil: never).
func (l *waitLock) lockOr(abort, stop <-chan struct{}) bool { return l.lockWithin(abort, stop, nil) }

// lockWithin is lockOr that also gives up when expire fires (nil: never).
func (l *waitLock) lockWithin(abort, stop <-chan struct{}, expire <-chan time.Time) bool {
	if l.state.CompareAndSwap(lockFree, lockHeld) {
		return true
	}
	for {
		wake := l.contend()
		if wake == nil {
			return true
		}
		select {
		case <-wake:
		case <-abort:
			return false
		case <-stop:
			return false
		case <-expire:
			return false
		}
	}
}

// tryLock takes the lock if it is free, without waiting.
func (l *waitLock) tryLock() bool { return l.state.CompareAndSwap(lockFree, lockHeld) }

// contend takes the lock, or marks it contended and returns the channel
// on which unlock leaves a token. A caller that waits on the channel among
// other cases must call contend again as soon as it takes a token.
func (l *waitLock) contend() <-chan struct{} {
	wake := l.wake.Load()
	if wake == nil {
		ch := make(chan struct{}, 1)
		if !l.wake.CompareAndSwap(nil, &ch) {
			wake = l.wake.Load()
		} else {
			wake = &ch
		}
	}
	// Taken this way the lock stays marked contended: the next unlock
	// leaves a token that may find nobody, which costs one spurious try.
	if l.state.Swap(lockContended) == lockFree {
		return nil
	}
	return *wake
}

// unlock gives the lock back, waking one waiter if any may wait.
func (l *waitLock) unlock() {
	if l.state.Swap(lockFree) == lockContended {
		select {
		case *l.wake.Load() <- struct{}{}:
		default: // a token is already there for the next waiter
		}
	}
}
