package wsotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/a60656ec/websocket"
)

// closeDurationBounds are the histogram's bucket bounds in seconds: the
// library's own for Stats.CloseDurations, from a round trip on a LAN to
// twice the default close timeout. The library does not export them but
// every Snapshot carries them, an empty one too.
func closeDurationBounds() []float64 {
	var bounds []float64
	for _, d := range new(websocket.Stats).Snapshot().CloseDurations.Bounds {
		bounds = append(bounds, d.Seconds())
	}
	return bounds
}

// newCloseDuration creates the histogram of closing handshakes on meter.
func newCloseDuration(meter metric.Meter) (metric.Float64Histogram, error) {
	return meter.Float64Histogram("websocket.close_handshake.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Closing handshakes, from the first close frame sent or received to TCP closed, "+
			"by the side that sent the first. Connections that ended without a close frame are not recorded."),
		metric.WithExplicitBucketBoundaries(closeDurationBounds()...))
}

// OnEnd records the closing handshake of a connection that has ended, with
// the side that began it: set it as an Upgrader's or Dialer's OnEnd, or
// call it from yours. An end without a closing handshake is not recorded,
// as Stats does not count it either.
func (m *Metrics) OnEnd(end websocket.ConnEnd) {
	if end.CloseDuration <= 0 {
		return
	}
	m.closeDuration.Record(context.Background(), end.CloseDuration.Seconds(),
		metric.WithAttributes(initiatorKey.String(end.Event.Initiator.String())))
}
