// Package wsprom exports a websocket.Stats to Prometheus: a Collector that
// reads one Snapshot per scrape and reports it as constant metrics.
//
//	stats := new(websocket.Stats)
//	upgrader := websocket.Upgrader{Stats: stats}
//	prometheus.MustRegister(wsprom.NewCollector(stats))
//
// To tell several Stats apart, register each collector with
// prometheus.WrapRegistererWith and a label of your own.
package wsprom

import (
	"github.com/a60656ec/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector over a websocket.Stats. Its metrics
// are listed in the package's README. Safe from any number of goroutines,
// as Stats is.
type Collector struct {
	stats *websocket.Stats
}

// NewCollector returns a Collector that reports stats.
func NewCollector(stats *websocket.Stats) *Collector {
	return &Collector{stats: stats}
}

// Describe sends the description of every metric the Collector reports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect takes one Snapshot and sends its metrics, so that every sample
// of a scrape comes from the same moment.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	snap := c.stats.Snapshot()

	ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(snap.Open))
	ch <- prometheus.MustNewConstMetric(openedDesc, prometheus.CounterValue, float64(snap.Opened))
	for ending, n := range snap.Ended {
		ch <- prometheus.MustNewConstMetric(closedDesc, prometheus.CounterValue, float64(n), endingLabels(ending)...)
	}
	for refusal, n := range snap.Refused {
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(n), refusalLabels(refusal)...)
	}
	h := snap.CloseDurations
	ch <- prometheus.MustNewConstHistogram(closeDurationDesc, h.Count, h.Sum.Seconds(), cumulativeBuckets(h))
	collectTraffic(ch, snap.Traffic)
	ch <- prometheus.MustNewConstMetric(serveFallbacksDesc, prometheus.CounterValue, float64(snap.ServeFallbacks))
}

// collectTraffic sends the traffic counters, one sample per direction.
func collectTraffic(ch chan<- prometheus.Metric, t websocket.Traffic) {
	counters := []struct {
		desc    *prometheus.Desc
		in, out uint64
	}{
		{messagesDesc, t.MessagesIn, t.MessagesOut},
		{compressedMessagesDesc, t.CompressedIn, t.CompressedOut},
		{payloadBytesDesc, t.BytesIn, t.BytesOut},
		{compressedPayloadBytesDesc, t.CompressedBytesIn, t.CompressedBytesOut},
		{uncompressedPayloadBytesDesc, t.InflatedBytesIn, t.DeflatedBytesOut},
	}
	for _, c := range counters {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(c.in), "in")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(c.out), "out")
	}
}
