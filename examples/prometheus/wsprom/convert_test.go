package wsprom

import (
	"maps"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
)

// TestCumulativeBuckets checks the conversion of per-bucket counts with
// durations spread over several buckets, which loopback handshakes, all
// under a millisecond, never are.
func TestCumulativeBuckets(t *testing.T) {
	h := websocket.Histogram{
		Bounds: []time.Duration{time.Millisecond, 250 * time.Millisecond, 2 * time.Second},
		Counts: []uint64{2, 0, 3, 4}, // the last, over 2 s, is +Inf's alone
		Count:  9,
	}
	got := cumulativeBuckets(h)
	want := map[float64]uint64{0.001: 2, 0.25: 2, 2: 5}
	if !maps.Equal(got, want) {
		t.Fatalf("cumulativeBuckets = %v, want %v", got, want)
	}
}
