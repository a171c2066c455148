package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Latencies are counted in a log-linear histogram rather than kept one by
// one: a run at the rate makes 20 million of them, which as int64s
// would cost the load process as much memory as its 10,000 connections.
// Below subBuckets microseconds each value has its own bucket; above, each
// power of two is cut into subBuckets parts, so a bucket is at most 1/64
// (1.6 %) wide relative to its values: finer than run-to-run noise.
const (
	subBits    = 6
	subBuckets = 1 << subBits
	// maxShift reaches 2^(maxShift+subBits+1) µs, about 38 hours.
	maxShift   = 30
	numBuckets = subBuckets + (maxShift+1)*subBuckets
)

// histogram counts latencies in microseconds. Record may be called from
// any number of goroutines at once: the counts are atomic, so the clients'
// readers share one histogram without a lock.
type histogram struct {
	counts [numBuckets]atomic.Int64
	total  atomic.Int64
	max    atomic.Int64
}

// bucketOf returns the bucket that counts v microseconds.
func bucketOf(v int64) int {
	if v < 0 {
		v = 0 // clocks are one here, but a negative value is still not a latency
	}
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	if shift > maxShift {
		return numBuckets - 1
	}
	return subBuckets + shift*subBuckets + int(v>>shift) - subBuckets
}

// bucketTop returns the largest value that bucket b counts: percentiles
// report it, so a reported latency is never below the true one.
func bucketTop(b int) int64 {
	if b < subBuckets {
		return int64(b)
	}
	shift := (b - subBuckets) / subBuckets
	mant := int64(b-subBuckets)%subBuckets + subBuckets
	return (mant+1)<<shift - 1
}

// Record counts one latency.
func (h *histogram) Record(d time.Duration) {
	us := d.Microseconds()
	h.counts[bucketOf(us)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

// Count returns how many latencies were recorded.
func (h *histogram) Count() int64 { return h.total.Load() }

// Max returns the largest latency recorded, exactly.
func (h *histogram) Max() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }

// Quantile returns the latency below or at which a fraction q (0 < q <= 1)
// of the recorded ones lie, rounded up to its bucket's top and capped at
// the exact maximum; zero when nothing was recorded.
func (h *histogram) Quantile(q float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	// The rank of the value sought, 1-based: the smallest r with r >= q*n.
	rank := int64(q * float64(n))
	if float64(rank) < q*float64(n) {
		rank++
	}
	rank = max(rank, 1)
	var seen int64
	for b := range h.counts {
		seen += h.counts[b].Load()
		if seen >= rank {
			return time.Duration(min(bucketTop(b), h.max.Load())) * time.Microsecond
		}
	}
	return h.Max()
}
