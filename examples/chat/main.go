// Command chat is a chat server with rooms that runs as one process or as
// many: the processes share rooms through NATS, and a deploy drains each
// process's sockets with 1012 Service Restart so the page reconnects to
// another one.
//
//	go run .                                  # one process, embedded NATS
//	go run . -nats-listen 127.0.0.1:4222      # the first of several
//	go run . -addr 127.0.0.1:8081 -nats nats://127.0.0.1:4222
//
// See README.md.
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

	"github.com/a60656ec/websocket"
)

// drainTimeout bounds a deploy's drain: the closing handshakes of every
// socket, then the HTTP server's own shutdown.
const drainTimeout = 10 * time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "HTTP address of the page and the WebSocket (port 0 picks one)")
	natsURL := flag.String("nats", "", "NATS server to join, e.g. nats://127.0.0.1:4222; empty starts one in this process")
	natsListen := flag.String("nats-listen", "127.0.0.1:0", "where the embedded NATS server listens, when -nats is empty")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, *addr, *natsURL, *natsListen); err != nil {
		log.Error("chat stopped", "err", err)
		os.Exit(1)
	}
}

// run serves the chat until SIGTERM or SIGINT, then drains it.
func run(log *slog.Logger, addr, natsURL, natsListen string) error {
	if natsURL == "" {
		ns, err := startEmbeddedNATS(natsListen)
		if err != nil {
			return err
		}
		// Shut down last: other processes may be using it until this one
		// exits, and the drain's leave events go through it.
		defer ns.WaitForShutdown()
		defer ns.Shutdown()
		natsURL = ns.ClientURL()
		log.Info("embedded nats", "url", natsURL)
	}
	nc, err := connectNATS(natsURL, "chat "+addr)
	if err != nil {
		return err
	}
	defer nc.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	group := &websocket.Group{}
	h := newHub(nc, log)
	srv := &http.Server{
		Handler:           newHandler(h, newUpgrader(group)),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "url", "http://"+ln.Addr().String()+"/")

	select {
	case err := <-served:
		return err
	case <-stop.Done():
	}
	return drain(log, srv, group, h, served)
}

// drain is a deploy's end of a process: the group is shut down first, so
// that an upgrade arriving meanwhile is answered 503 and its page tries
// elsewhere, and every socket hears 1012 Service Restart with a clean
// close; the HTTP server stops after, and the members' leave events are
// flushed to NATS before it closes.
func drain(log *slog.Logger, srv *http.Server, group *websocket.Group, h *hub, served <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	res, err := group.Shutdown(ctx, websocket.StatusServiceRestart, "restarting")
	log.Info("drained", "clean", res.Clean, "terminated", res.Terminated, "err", err)
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return h.waitIdle(ctx)
}
