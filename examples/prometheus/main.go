// Command prometheus serves a WebSocket echo endpoint at /ws and its
// statistics at /metrics, in Prometheus's text format, through the
// collector of package wsprom.
//
//	go run . -addr 127.0.0.1:8080
//	curl -s http://127.0.0.1:8080/metrics
package main

import (
	"flag"
	"log/slog"
	"net/http"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/a60656ec/websocket/examples/prometheus/wsprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()

	stats := new(websocket.Stats)
	upgrader := &websocket.Upgrader{
		Stats:       stats,
		Logger:      slog.Default(), // refusals and abnormal ends
		Compression: websocket.CompressionNoContextTakeover,
	}
	// A registry of our own, so /metrics shows the WebSocket metrics
	// alone; register collectors.NewGoCollector() too for the runtime's.
	registry := prometheus.NewRegistry()
	registry.MustRegister(wsprom.NewCollector(stats))

	server := &http.Server{
		Addr:              *addr,
		Handler:           newHandler(upgrader, registry),
		ReadHeaderTimeout: 5 * time.Second, // Upgrade clears it on the connections it takes over
	}
	slog.Info("listening", "ws", "ws://"+*addr+"/ws", "metrics", "http://"+*addr+"/metrics")
	if err := server.ListenAndServe(); err != nil {
		slog.Error("server stopped", "err", err)
	}
}

// newHandler serves the echo endpoint at /ws, upgraded by upgrader, and
// the metrics gathered from registry at /metrics.
func newHandler(upgrader *websocket.Upgrader, registry *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	// No method in the pattern: Upgrade answers a non-GET with 405, and
	// counts it.
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered with an HTTP error, and counted it
		}
		echo(conn)
	})
	return mux
}

// echo sends every message back until the connection ends.
func echo(conn *websocket.Conn) {
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			return // the end is in the upgrader's Stats
		}
		if err := conn.WriteMessage(typ, msg); err != nil {
			return
		}
	}
}
