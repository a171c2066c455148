package wsprom

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// expectation is what a test expects the collector to report, worked out
// from what the test did, and written as Prometheus's text format.
type expectation struct {
	open, opened uint64
	closed       map[string]uint64 // by label set, as written in braces
	refused      map[string]uint64 // by label set, as written in braces
	// closeDurations are the closing handshakes the server saw.
	closeDurations []time.Duration
	// Per direction, "in" and "out".
	messages, compressedMessages, payloadBytes, compressedPayloadBytes, uncompressedPayloadBytes map[string]uint64
}

// closeDurationBoundsSeconds are the library's documented buckets for
// closing handshakes, in seconds.
var closeDurationBoundsSeconds = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

// text writes e as the exposition the collector should produce.
func (e expectation) text() string {
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, labels string, v uint64) {
		fmt.Fprintf(&b, "%s%s %d\n", name, labels, v)
	}
	labeled := func(name, help string, byLabels map[string]uint64) {
		if len(byLabels) == 0 {
			return // a family without samples is not exposed
		}
		family(name, "counter", help)
		for _, labels := range slices.Sorted(maps.Keys(byLabels)) {
			sample(name, "{"+labels+"}", byLabels[labels])
		}
	}
	perDirection := func(name, help string, byDirection map[string]uint64) {
		family(name, "counter", help)
		sample(name, `{direction="in"}`, byDirection["in"])
		sample(name, `{direction="out"}`, byDirection["out"])
	}

	family("websocket_connections_open", "gauge", "WebSocket connections open now.")
	sample("websocket_connections_open", "", e.open)
	family("websocket_connections_opened_total", "counter", "WebSocket connections opened: handshakes completed.")
	sample("websocket_connections_opened_total", "", e.opened)
	labeled("websocket_connections_closed_total",
		"WebSocket connections that have ended, by the close code the peer sent (1006 when none), "+
			"whether the end was clean, which side began it and why.", e.closed)
	labeled("websocket_handshakes_refused_total",
		"WebSocket opening handshakes refused, by HTTP status and reason.", e.refused)

	const hist = "websocket_close_handshake_duration_seconds"
	family(hist, "histogram", "Closing handshakes, from the first close frame sent or received to TCP closed. "+
		"Connections that ended without a close frame are not observed.")
	var sum time.Duration
	for _, d := range e.closeDurations {
		sum += d
	}
	for _, bound := range closeDurationBoundsSeconds {
		var atMost uint64
		for _, d := range e.closeDurations {
			if d.Seconds() <= bound {
				atMost++
			}
		}
		sample(hist+"_bucket", fmt.Sprintf(`{le="%s"}`, strconv.FormatFloat(bound, 'g', -1, 64)), atMost)
	}
	sample(hist+"_bucket", `{le="+Inf"}`, uint64(len(e.closeDurations)))
	fmt.Fprintf(&b, "%s_sum %s\n", hist, strconv.FormatFloat(sum.Seconds(), 'g', -1, 64))
	sample(hist+"_count", "", uint64(len(e.closeDurations)))

	perDirection("websocket_messages_total",
		"WebSocket data messages, by direction (in: read, out: written). Control frames are not counted.", e.messages)
	perDirection("websocket_compressed_messages_total",
		"WebSocket data messages compressed with permessage-deflate, a part of websocket_messages_total.", e.compressedMessages)
	perDirection("websocket_payload_bytes_total",
		"Payload bytes of WebSocket data messages as they cross the wire (compressed, for compressed messages).", e.payloadBytes)
	perDirection("websocket_compressed_payload_bytes_total",
		"Payload bytes on the wire of compressed messages, a part of websocket_payload_bytes_total.", e.compressedPayloadBytes)
	perDirection("websocket_compressed_payload_uncompressed_bytes_total",
		"What the compressed messages' payloads are uncompressed: inflated to (in) or before deflating (out). "+
			"Divided into websocket_compressed_payload_bytes_total it gives the compression ratio.", e.uncompressedPayloadBytes)

	family("websocket_serve_fallbacks_total", "counter",
		"Connections that Conn.Serve ran in a goroutine of their own rather than on the poller.")
	sample("websocket_serve_fallbacks_total", "", 0)
	return b.String()
}
