package wsotel

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/a60656ec/websocket"
)

// TestMetricsReportWhatHappened drives connections over loopback (a
// refused GET, a clean close from the client, a Close and a Terminate
// from the server, a compressed echo, and one connection left open),
// collects with a manual reader, and checks every data point against what
// the test did.
func TestMetricsReportWhatHappened(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	stats := new(websocket.Stats)
	m, err := New(provider.Meter("wsotel_test"), stats)
	if err != nil {
		t.Fatal(err)
	}
	ends := make(chan websocket.ConnEnd, 8)
	server := &echoServer{echoed: make(chan int, 8)}
	server.upgrader = websocket.Upgrader{
		Stats:                stats,
		OnEnd:                func(end websocket.ConnEnd) { m.OnEnd(end); ends <- end },
		Compression:          websocket.CompressionNoContextTakeover,
		CompressionThreshold: -1,
	}
	srv := httptest.NewServer(server)
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET: status %d, want 400", resp.StatusCode)
	}

	var plain websocket.Dialer
	conn := dial(t, &plain, srv)
	echoRoundTrip(t, conn, "hello")
	echoRoundTrip(t, conn, "world!")
	if err := conn.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for _, command := range []string{closeCommand, terminateCommand} {
		conn := dial(t, &plain, srv)
		send(t, conn, command)
		readUntilEnd(t, conn)
	}

	clientEnds := make(chan websocket.ConnEnd, 1)
	compressing := websocket.Dialer{
		Compression:          websocket.CompressionNoContextTakeover,
		CompressionThreshold: -1,
		OnEnd:                func(end websocket.ConnEnd) { clientEnds <- end },
	}
	big := strings.Repeat("compressible ", 25)
	conn = dial(t, &compressing, srv)
	echoRoundTrip(t, conn, big)
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}

	echoRoundTrip(t, dial(t, &plain, srv), "still here")

	// Wait until the server has counted all that: four ends (recorded by
	// OnEnd before they reach the channel) and four echoes written.
	closeDurations := map[string][]time.Duration{}
	for range 4 {
		end := receive(t, ends, "server end")
		if end.CloseDuration > 0 {
			side := end.Event.Initiator.String()
			closeDurations[side] = append(closeDurations[side], end.CloseDuration)
		}
	}
	for range 4 {
		receive(t, server.echoed, "echo")
	}
	if len(closeDurations["peer"]) != 2 || len(closeDurations["local"]) != 1 {
		t.Fatalf("closing handshakes by initiator: %v, want 2 begun by the peer and 1 by the server", closeDurations)
	}
	// The client counted the compressed message's wire size on its own.
	client := receive(t, clientEnds, "client end").Traffic
	if client.CompressedBytesOut == 0 || client.CompressedBytesOut >= uint64(len(big)) {
		t.Fatalf("the client sent %d compressed bytes for %d: not compressed", client.CompressedBytesOut, len(big))
	}
	plainIn := int64(len("hello") + len("world!") + len(closeCommand) + len(terminateCommand) + len("still here"))
	plainOut := int64(len("hello") + len("world!") + len("still here"))

	want := []metricdata.Metrics{
		upDown("websocket.connections.open", "{connection}", point(1)),
		counter("websocket.connections.opened", "{connection}", point(5)),
		counter("websocket.connections.closed", "{connection}",
			point(2, codeKey.Int(1000), cleanKey.Bool(true), initiatorKey.String("peer"), causeKey.String("peer_close")),
			point(1, codeKey.Int(1001), cleanKey.Bool(true), initiatorKey.String("local"), causeKey.String("close")),
			point(1, codeKey.Int(1006), cleanKey.Bool(false), initiatorKey.String("local"), causeKey.String("terminate"))),
		counter("websocket.handshakes.refused", "{handshake}",
			point(1, statusKey.Int(400), reasonKey.String("upgrade_header"))),
		closeDurationHistogram(closeDurations),
		perDirection("websocket.messages", "{message}", 6, 4),
		perDirection("websocket.messages.compressed", "{message}", 1, 1),
		perDirection("websocket.payload", "By",
			plainIn+int64(client.CompressedBytesOut), plainOut+int64(client.CompressedBytesIn)),
		perDirection("websocket.payload.compressed", "By",
			int64(client.CompressedBytesOut), int64(client.CompressedBytesIn)),
		perDirection("websocket.payload.compressed.uncompressed", "By", int64(len(big)), int64(len(big))),
		counter("websocket.serve.fallbacks", "{connection}", point(0)),
	}
	assertCollected(t, reader, want)
}

// TestUnregister checks that a collection after Unregister observes
// nothing.
func TestUnregister(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	m, err := New(provider.Meter("wsotel_test"), new(websocket.Stats))
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, reader); len(got) == 0 {
		t.Fatal("nothing collected while registered")
	}
	if err := m.Unregister(); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, reader); len(got) != 0 {
		t.Fatalf("collected after Unregister: %v", slices.Sorted(maps.Keys(got)))
	}
}

// collect runs one collection and returns its metrics by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	byName := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			byName[m.Name] = m
		}
	}
	return byName
}

// assertCollected collects once and checks that exactly the metrics of
// want were collected, each with want's unit and data points. The
// descriptions are only checked to be there.
func assertCollected(t *testing.T, reader *sdkmetric.ManualReader, want []metricdata.Metrics) {
	t.Helper()
	got := collect(t, reader)
	for _, w := range want {
		g, ok := got[w.Name]
		if !ok {
			t.Errorf("%s was not collected", w.Name)
			continue
		}
		delete(got, w.Name)
		if g.Description == "" {
			t.Errorf("%s has no description", w.Name)
		}
		w.Description = g.Description
		metricdatatest.AssertEqual(t, w, g, metricdatatest.IgnoreTimestamp())
	}
	for name := range got {
		t.Errorf("%s was collected but not expected", name)
	}
}

// point is a data point of value n with attrs.
func point(n int64, attrs ...attribute.KeyValue) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attrs...), Value: n}
}

// counter is a cumulative, monotonic sum.
func counter(name, unit string, points ...metricdata.DataPoint[int64]) metricdata.Metrics {
	return metricdata.Metrics{Name: name, Unit: unit, Data: metricdata.Sum[int64]{
		Temporality: metricdata.CumulativeTemporality, IsMonotonic: true, DataPoints: points,
	}}
}

// upDown is a cumulative sum that may go down.
func upDown(name, unit string, points ...metricdata.DataPoint[int64]) metricdata.Metrics {
	return metricdata.Metrics{Name: name, Unit: unit, Data: metricdata.Sum[int64]{
		Temporality: metricdata.CumulativeTemporality, DataPoints: points,
	}}
}

// perDirection is a counter with a point received and one transmitted.
func perDirection(name, unit string, received, transmitted int64) metricdata.Metrics {
	return counter(name, unit,
		point(received, directionKey.String("receive")),
		point(transmitted, directionKey.String("transmit")))
}

// closeDurationHistogram is the histogram the recorded durations should
// make, one data point per initiator, in the library's buckets.
func closeDurationHistogram(byInitiator map[string][]time.Duration) metricdata.Metrics {
	bounds := []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}
	var points []metricdata.HistogramDataPoint[float64]
	for initiator, durations := range byInitiator {
		p := metricdata.HistogramDataPoint[float64]{
			Attributes:   attribute.NewSet(initiatorKey.String(initiator)),
			Bounds:       bounds,
			BucketCounts: make([]uint64, len(bounds)+1),
			Count:        uint64(len(durations)),
		}
		lo, hi := durations[0].Seconds(), durations[0].Seconds()
		for _, d := range durations {
			s := d.Seconds()
			p.Sum += s
			lo, hi = min(lo, s), max(hi, s)
			bucket := 0
			for bucket < len(bounds) && s > bounds[bucket] {
				bucket++
			}
			p.BucketCounts[bucket]++
		}
		p.Min, p.Max = metricdata.NewExtrema(lo), metricdata.NewExtrema(hi)
		points = append(points, p)
	}
	return metricdata.Metrics{Name: "websocket.close_handshake.duration", Unit: "s",
		Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: points}}
}
