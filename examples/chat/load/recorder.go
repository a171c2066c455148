package main

import (
	"sync/atomic"
	"time"
)

// roomState is what the clients of a run share: the count of joins, and
// the window being measured, which a run may repeat at several rates
// after filling the room once.
type roomState struct {
	joined   atomic.Int64             // clients that have seen their own join
	stopping atomic.Bool              // the run is ending the connections itself
	cur      atomic.Pointer[recorder] // the window being measured; nil before the first
	pubs     int
}

// recorder is one measured window's: the latency histograms and the counts
// that tell when it has delivered everything. It is made before its
// messages are sent, and its slices never change size, so the clients'
// readers share it without a lock.
type recorder struct {
	index int // the window's number in the run, in its messages' texts

	// start is the window's start in Unix nanoseconds, zero before it:
	// messages are timed against it. Atomic, because the publishers'
	// messages reach the readers through sockets, not through anything
	// Go's memory model sees.
	start atomic.Int64

	all     histogram
	bySent  []histogram    // by the second of the window the message was sent in
	byRecv  []atomic.Int64 // deliveries by the second they arrived in
	lastRcv atomic.Int64   // Unix nanoseconds of the last delivery

	delivered atomic.Int64 // first arrivals of load messages, over all clients
	synced    atomic.Int64 // clients that have seen the window's sync message
	garbled   atomic.Int64 // load messages whose publisher is not one of the run's
	stale     atomic.Int64 // load messages of an earlier window that arrived in this one

	// closed is set when the run stops waiting: later arrivals count as
	// late, so that what the result calls delivered is what arrived within
	// the window. (A reader past the check as it is set may still add one.)
	closed atomic.Bool
	late   atomic.Int64
}

// newRecorder returns the recorder of window index, for sendSeconds
// seconds of sending and, all told, at most windowSeconds of receiving.
func newRecorder(index, sendSeconds, windowSeconds int) *recorder {
	return &recorder{
		index:  index,
		bySent: make([]histogram, sendSeconds+1),
		byRecv: make([]atomic.Int64, windowSeconds+1),
	}
}

// secondOf returns the second of the window, from its start, that the
// Unix nanosecond ns falls in, kept within a slice of n seconds.
func (r *recorder) secondOf(ns int64, n int) int {
	s := int((ns - r.start.Load()) / int64(time.Second))
	return min(max(s, 0), n-1)
}

// delivery records the first arrival, at Unix nanosecond now, of a load
// message sent at Unix nanosecond sent.
func (r *recorder) delivery(sent, now int64) {
	lat := time.Duration(now - sent)
	r.all.Record(lat)
	r.bySent[r.secondOf(sent, len(r.bySent))].Record(lat)
	r.byRecv[r.secondOf(now, len(r.byRecv))].Add(1)
	r.delivered.Add(1)
	for {
		last := r.lastRcv.Load()
		if now <= last || r.lastRcv.CompareAndSwap(last, now) {
			return
		}
	}
}
