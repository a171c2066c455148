package wsotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"
)

// observed are the observable instruments, one per count of the Snapshot.
//
// Traffic is reported as totals and their compressed part, in separate
// instruments, rather than one instrument with a "compressed" attribute:
// the uncompressed part would be total minus compressed, and a snapshot
// taken while a frame is being counted may see the second count before the
// first, so the difference could step back. Each instrument here is one of
// the library's own counts, which only grow.
type observed struct {
	open                   metric.Int64ObservableUpDownCounter
	opened                 metric.Int64ObservableCounter
	closed                 metric.Int64ObservableCounter
	refused                metric.Int64ObservableCounter
	messages               metric.Int64ObservableCounter
	compressedMessages     metric.Int64ObservableCounter
	payload                metric.Int64ObservableCounter
	compressedPayload      metric.Int64ObservableCounter
	compressedPayloadWhole metric.Int64ObservableCounter
	serveFallbacks         metric.Int64ObservableCounter
}

// newObserved creates the observable instruments on meter.
func newObserved(meter metric.Meter) (observed, error) {
	var o observed
	var err error
	counter := func(dst *metric.Int64ObservableCounter, name, unit, description string) {
		if err == nil {
			*dst, err = meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(description))
		}
	}
	o.open, err = meter.Int64ObservableUpDownCounter("websocket.connections.open",
		metric.WithUnit("{connection}"), metric.WithDescription("WebSocket connections open now."))
	counter(&o.opened, "websocket.connections.opened", "{connection}",
		"WebSocket connections opened: handshakes completed.")
	counter(&o.closed, "websocket.connections.closed", "{connection}",
		"WebSocket connections that have ended, by the close code the peer sent (1006 when none), "+
			"whether the end was clean, which side began it and why.")
	counter(&o.refused, "websocket.handshakes.refused", "{handshake}",
		"WebSocket opening handshakes refused, by HTTP status and reason.")
	counter(&o.messages, "websocket.messages", "{message}",
		"WebSocket data messages received and transmitted. Control frames are not counted.")
	counter(&o.compressedMessages, "websocket.messages.compressed", "{message}",
		"WebSocket data messages compressed with permessage-deflate, a part of websocket.messages.")
	counter(&o.payload, "websocket.payload", "By",
		"Payload bytes of WebSocket data messages as they cross the wire (compressed, for compressed messages).")
	counter(&o.compressedPayload, "websocket.payload.compressed", "By",
		"Payload bytes on the wire of compressed messages, a part of websocket.payload.")
	counter(&o.compressedPayloadWhole, "websocket.payload.compressed.uncompressed", "By",
		"What the compressed messages' payloads are uncompressed: inflated to (receive) or before deflating (transmit).")
	counter(&o.serveFallbacks, "websocket.serve.fallbacks", "{connection}",
		"Connections that Conn.Serve ran in a goroutine of their own rather than on the poller.")
	return o, err
}

// all lists the instruments, for RegisterCallback.
func (o observed) all() []metric.Observable {
	return []metric.Observable{
		o.open, o.opened, o.closed, o.refused, o.messages, o.compressedMessages,
		o.payload, o.compressedPayload, o.compressedPayloadWhole, o.serveFallbacks,
	}
}

// observe takes one Snapshot and observes every instrument from it, so
// that a collection's data points come from the same moment.
func (m *Metrics) observe(_ context.Context, obs metric.Observer) error {
	snap := m.stats.Snapshot()
	o := m.observed
	obs.ObserveInt64(o.open, int64(snap.Open))
	obs.ObserveInt64(o.opened, counted(snap.Opened))
	for ending, n := range snap.Ended {
		obs.ObserveInt64(o.closed, counted(n), endingAttributes(ending))
	}
	for refusal, n := range snap.Refused {
		obs.ObserveInt64(o.refused, counted(n), refusalAttributes(refusal))
	}
	t := snap.Traffic
	both := func(inst metric.Int64ObservableCounter, in, out uint64) {
		obs.ObserveInt64(inst, counted(in), receiving)
		obs.ObserveInt64(inst, counted(out), transmitting)
	}
	both(o.messages, t.MessagesIn, t.MessagesOut)
	both(o.compressedMessages, t.CompressedIn, t.CompressedOut)
	both(o.payload, t.BytesIn, t.BytesOut)
	both(o.compressedPayload, t.CompressedBytesIn, t.CompressedBytesOut)
	both(o.compressedPayloadWhole, t.InflatedBytesIn, t.DeflatedBytesOut)
	obs.ObserveInt64(o.serveFallbacks, counted(snap.ServeFallbacks))
	return nil
}

// counted converts one of the library's uint64 counts to the int64
// OpenTelemetry takes. A count past the largest int64 (nine quintillion)
// stays there rather than wrap to a negative one.
func counted(n uint64) int64 {
	return int64(min(n, 1<<63-1))
}
