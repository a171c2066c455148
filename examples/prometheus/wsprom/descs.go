package wsprom

import "github.com/prometheus/client_golang/prometheus"

// The metrics' descriptions, one per family. Names follow Prometheus
// conventions: base units (seconds, bytes), _total on counters, snake_case
// labels.
//
// Traffic is split into totals and their compressed part, two metrics
// each, rather than one metric with a compressed="true|false" label: the
// uncompressed part would have to be computed as total minus compressed,
// and a snapshot taken while a frame is being counted may see the second
// count before the first, so the difference could step back and read as
// a counter reset. Each metric here is one of the library's own counts,
// which only grow.
var (
	openDesc = prometheus.NewDesc("websocket_connections_open",
		"WebSocket connections open now.", nil, nil)
	openedDesc = prometheus.NewDesc("websocket_connections_opened_total",
		"WebSocket connections opened: handshakes completed.", nil, nil)
	closedDesc = prometheus.NewDesc("websocket_connections_closed_total",
		"WebSocket connections that have ended, by the close code the peer sent (1006 when none), "+
			"whether the end was clean, which side began it and why.",
		[]string{"code", "clean", "initiator", "cause"}, nil)
	refusedDesc = prometheus.NewDesc("websocket_handshakes_refused_total",
		"WebSocket opening handshakes refused, by HTTP status and reason.",
		[]string{"status", "reason"}, nil)
	closeDurationDesc = prometheus.NewDesc("websocket_close_handshake_duration_seconds",
		"Closing handshakes, from the first close frame sent or received to TCP closed. "+
			"Connections that ended without a close frame are not observed.", nil, nil)
	messagesDesc = prometheus.NewDesc("websocket_messages_total",
		"WebSocket data messages, by direction (in: read, out: written). Control frames are not counted.",
		[]string{"direction"}, nil)
	compressedMessagesDesc = prometheus.NewDesc("websocket_compressed_messages_total",
		"WebSocket data messages compressed with permessage-deflate, a part of websocket_messages_total.",
		[]string{"direction"}, nil)
	payloadBytesDesc = prometheus.NewDesc("websocket_payload_bytes_total",
		"Payload bytes of WebSocket data messages as they cross the wire (compressed, for compressed messages).",
		[]string{"direction"}, nil)
	compressedPayloadBytesDesc = prometheus.NewDesc("websocket_compressed_payload_bytes_total",
		"Payload bytes on the wire of compressed messages, a part of websocket_payload_bytes_total.",
		[]string{"direction"}, nil)
	uncompressedPayloadBytesDesc = prometheus.NewDesc("websocket_compressed_payload_uncompressed_bytes_total",
		"What the compressed messages' payloads are uncompressed: inflated to (in) or before deflating (out). "+
			"Divided into websocket_compressed_payload_bytes_total it gives the compression ratio.",
		[]string{"direction"}, nil)
	serveFallbacksDesc = prometheus.NewDesc("websocket_serve_fallbacks_total",
		"Connections that Conn.Serve ran in a goroutine of their own rather than on the poller.", nil, nil)
)

// allDescs lists every description, for Describe.
var allDescs = []*prometheus.Desc{
	openDesc, openedDesc, closedDesc, refusedDesc, closeDurationDesc,
	messagesDesc, compressedMessagesDesc, payloadBytesDesc,
	compressedPayloadBytesDesc, uncompressedPayloadBytesDesc, serveFallbacksDesc,
}
