package main

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	// Buckets are contiguous and each value lies within its bucket.
	prevTop := int64(-1)
	for b := range numBuckets - 1 {
		top := bucketTop(b)
		if top <= prevTop {
			t.Fatalf("bucket %d tops %d, not above %d", b, top, prevTop)
		}
		for _, v := range []int64{prevTop + 1, top} {
			if got := bucketOf(v); got != b {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, b)
			}
		}
		if lo := prevTop + 1; lo >= subBuckets && float64(top-lo+1)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d of its values", b, lo, top, subBuckets)
		}
		prevTop = top
	}
	if got := bucketOf(1 << 62); got != numBuckets-1 {
		t.Fatalf("a huge value went to bucket %d", got)
	}
	if got := bucketOf(-5); got != 0 {
		t.Fatalf("a negative value went to bucket %d", got)
	}
}

func TestQuantilesExactBelowSubBuckets(t *testing.T) {
	var h histogram
	for v := 1; v <= 50; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 25}, {0.9, 45}, {0.99, 50}, {1, 50}, {0.01, 1}} {
		if got := h.Quantile(c.q); got != time.Duration(c.want)*time.Microsecond {
			t.Errorf("q%v = %v, want %dµs", c.q, got, c.want)
		}
	}
	if h.Count() != 50 || h.Max() != 50*time.Microsecond {
		t.Errorf("count %d max %v", h.Count(), h.Max())
	}
	var empty histogram
	if empty.Quantile(0.5) != 0 {
		t.Error("an empty histogram has a median")
	}
}

func TestQuantilesWithinABucketOfSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	vals := make([]int64, 100_000)
	for i := range vals {
		vals[i] = int64(rng.ExpFloat64() * 20_000) // µs, a long tail
		h.Record(time.Duration(vals[i]) * time.Microsecond)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q).Microseconds()
		if got < exact || float64(got-exact) > float64(exact)/subBuckets+1 {
			t.Errorf("q%v = %dµs, exact %dµs", q, got, exact)
		}
	}
	if h.Quantile(1).Microseconds() != vals[len(vals)-1] {
		t.Errorf("q1 = %v, max %dµs", h.Quantile(1), vals[len(vals)-1])
	}
}

func TestHistogramConcurrentRecords(t *testing.T) {
	var h histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if h.Count() != 8000 || h.Max() != 7999*time.Microsecond {
		t.Fatalf("count %d max %v", h.Count(), h.Max())
	}
}
