// Command otel serves a WebSocket echo endpoint at /ws and prints its
// statistics as OpenTelemetry metrics, through package wsotel and the SDK's
// stdout exporter, every interval and once more when it stops.
//
//	go run . -addr 127.0.0.1:8080 -interval 10s
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/a60656ec/websocket"
	"github.com/a60656ec/websocket/examples/otel/wsotel"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	interval := flag.Duration("interval", 10*time.Second, "how often to print the metrics")
	flag.Parse()
	if err := run(*addr, *interval); err != nil {
		slog.Error("stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until interrupted, then prints the metrics a last time.
func run(addr string, interval time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	exporter, err := stdoutmetric.New(stdoutmetric.WithPrettyPrint())
	if err != nil {
		return err
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(
		sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithInterval(interval))))
	// Shutdown exports once more: what happened since the last interval.
	defer provider.Shutdown(context.Background())

	upgrader, err := newUpgrader(provider)
	if err != nil {
		return err
	}
	server := &http.Server{
		Addr:              addr,
		Handler:           newHandler(upgrader),
		ReadHeaderTimeout: 5 * time.Second, // Upgrade clears it on the connections it takes over
	}
	go func() {
		<-ctx.Done()
		_ = server.Close() // the connections it hijacked are not its to close: they end when their peers go
	}()
	slog.Info("listening", "ws", "ws://"+addr+"/ws")
	if err := server.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newUpgrader returns an Upgrader whose statistics are reported through
// provider's meter.
func newUpgrader(provider *sdkmetric.MeterProvider) (*websocket.Upgrader, error) {
	stats := new(websocket.Stats)
	m, err := wsotel.New(provider.Meter("github.com/a60656ec/websocket"), stats)
	if err != nil {
		return nil, err
	}
	return &websocket.Upgrader{
		Stats:       stats,
		OnEnd:       m.OnEnd, // the histogram of closing handshakes
		Logger:      slog.Default(),
		Compression: websocket.CompressionNoContextTakeover,
	}, nil
}

// newHandler serves the echo endpoint at /ws, upgraded by upgrader.
func newHandler(upgrader *websocket.Upgrader) http.Handler {
	mux := http.NewServeMux()
	// No method in the pattern: Upgrade answers a non-GET with 405, and
	// counts it.
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered with an HTTP error, and counted it
		}
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if err := conn.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	})
	return mux
}
