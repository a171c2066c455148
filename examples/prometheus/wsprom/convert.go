package wsprom

import (
	"strconv"

	"github.com/a60656ec/websocket"
)

// Conversions from the library's types to label values and Prometheus's
// histogram shape.

// endingLabels are the label values of an Ending, in closedDesc's order:
// the code as its number ("1000"), clean as "true" or "false", the
// initiator as "local" or "peer", the cause as the library names it.
func endingLabels(e websocket.Ending) []string {
	return []string{
		strconv.Itoa(int(e.Code)),
		strconv.FormatBool(e.Clean),
		e.Initiator.String(),
		string(e.Cause),
	}
}

// refusalLabels are the label values of a Refusal, in refusedDesc's order.
func refusalLabels(r websocket.Refusal) []string {
	return []string{strconv.Itoa(r.Status), r.Reason}
}

// cumulativeBuckets turns the library's per-bucket counts into the
// cumulative counts Prometheus wants, keyed by upper bound in seconds.
// The last bucket, which has no bound, is +Inf: Prometheus takes it from
// the total count.
func cumulativeBuckets(h websocket.Histogram) map[float64]uint64 {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var below uint64
	for i, bound := range h.Bounds {
		if i < len(h.Counts) {
			below += h.Counts[i]
		}
		buckets[bound.Seconds()] = below
	}
	return buckets
}
