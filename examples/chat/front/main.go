// Command front is one address for several chat processes: a round-robin
// reverse proxy that passes the page and its WebSocket through, and skips
// a process that is draining (503) or gone, so that a page drained with
// 1012 reconnects, through the same origin, to another process.
//
//	go run ./front -addr 127.0.0.1:8000 -backends 127.0.0.1:8080,127.0.0.1:8081,127.0.0.1:8082
//
// See ../README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/a60656ec/websocket/examples/chat/internal/front"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "HTTP address the pages open")
	list := flag.String("backends", "", "the chat processes, comma-separated host:port, e.g. 127.0.0.1:8081,127.0.0.1:8082")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, *addr, *list); err != nil {
		log.Error("front stopped", "err", err)
		os.Exit(1)
	}
}

// run serves the front until SIGTERM or SIGINT.
func run(log *slog.Logger, addr, list string) error {
	backends, err := front.ParseBackends(list)
	if err != nil {
		return err
	}
	p, err := front.New(backends, front.Options{
		Observe:  logAttempt(log),
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 5 * time.Second,
		// Upgraded connections are hijacked, out of the server's hands:
		// this only ends browsers' idle keep-alive connections.
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
	}
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "url", "http://"+ln.Addr().String()+"/", "backends", len(backends))

	select {
	case err := <-served:
		return err
	case <-stop.Done():
	}
	// Shutdown does not wait for upgraded connections: they drop when the
	// process exits, and their pages reconnect once a front is back.
	ctx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// logAttempt logs where each socket went and each backend skipped; page
// loads that went through at once are not worth a line.
func logAttempt(log *slog.Logger) func(front.Attempt) {
	return func(a front.Attempt) {
		switch {
		case a.Err != nil:
			log.Warn("backend unreachable", "backend", a.Backend.Host, "path", a.Request.URL.Path,
				"next", a.Retried, "err", a.Err)
		case a.Retried:
			log.Info("backend refused", "backend", a.Backend.Host, "path", a.Request.URL.Path, "status", a.Status)
		case a.Upgrade():
			log.Info("socket", "backend", a.Backend.Host, "query", a.Request.URL.RawQuery, "status", a.Status)
		}
	}
}
