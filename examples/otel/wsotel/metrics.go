// Package wsotel reports a websocket.Stats as OpenTelemetry metrics:
// observable instruments that read one Snapshot per collection, and a
// histogram of closing handshakes recorded as connections end.
//
//	stats := new(websocket.Stats)
//	m, err := wsotel.New(provider.Meter("websocket"), stats)
//	...
//	upgrader := websocket.Upgrader{Stats: stats, OnEnd: m.OnEnd}
package wsotel

import (
	"go.opentelemetry.io/otel/metric"

	"github.com/a60656ec/websocket"
)

// Metrics are the instruments that report one Stats, made by New. Their
// names and attributes are listed in the package's README.
type Metrics struct {
	stats        *websocket.Stats
	observed     observed
	registration metric.Registration
	// closeDuration is recorded by OnEnd: OpenTelemetry has no observable
	// histogram, so the Snapshot's CloseDurations cannot be reported as
	// they are.
	closeDuration metric.Float64Histogram
}

// New creates the instruments on meter and registers the callback that
// observes stats at every collection. Call Unregister to stop it.
func New(meter metric.Meter, stats *websocket.Stats) (*Metrics, error) {
	m := &Metrics{stats: stats}
	var err error
	if m.observed, err = newObserved(meter); err != nil {
		return nil, err
	}
	if m.closeDuration, err = newCloseDuration(meter); err != nil {
		return nil, err
	}
	m.registration, err = meter.RegisterCallback(m.observe, m.observed.all()...)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Unregister stops the observation of the Stats. The histogram goes on
// recording what OnEnd is given.
func (m *Metrics) Unregister() error {
	return m.registration.Unregister()
}
