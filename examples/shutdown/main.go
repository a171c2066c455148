// Command shutdown is a WebSocket server that drains its connections when
// it is told to stop: on SIGTERM or Ctrl-C, every client hears 1001 Going
// Away (or 1012 Service Restart with -restart) and the reason, with a clean
// close, instead of a dropped connection.
//
//	go run ./examples/shutdown
//
// http.Server.Shutdown does not track hijacked connections, so the
// connections join a websocket.Group, and the server's shutdown hook
// drains the group. Peers that stop answering pings are terminated.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/a60656ec/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	restart := flag.Bool("restart", false, "close with 1012 Service Restart instead of 1001 Going Away")
	flag.Parse()

	group := &websocket.Group{}
	upgrader := &websocket.Upgrader{
		Group:        group,            // every connection can be drained
		PingInterval: 30 * time.Second, // and dead peers are found
		WriteTimeout: 10 * time.Second, // and slow readers cannot block a writer
	}
	srv := newServer(*addr, newHandler(upgrader))

	// RegisterOnShutdown runs when srv.Shutdown begins: the listener is
	// closed by then, so no connection joins the group during the drain
	// (and Upgrade would answer 503 if one raced in).
	drained := make(chan struct{})
	srv.RegisterOnShutdown(func() {
		defer close(drained)
		code, reason := websocket.StatusGoingAway, "server shutting down"
		if *restart {
			code, reason = websocket.StatusServiceRestart, "server restarting"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := group.Shutdown(ctx, code, reason)
		slog.Info("drained", "clean", res.Clean, "terminated", res.Terminated, "err", err)
	})

	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	go func() {
		<-stop.Done()
		slog.Info("stopping")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			slog.Error("shutdown", "err", err)
		}
	}()

	slog.Info("listening", "url", "ws://"+*addr+"/ws")
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		slog.Error("server stopped", "err", err)
		os.Exit(1)
	}
	// Shutdown does not wait for its hooks: wait for the drain.
	<-drained
}

// headerTimeout bounds how long a client may take to send its request's
// head. Without it, a client that sends its upgrade request a byte at a
// time (slowloris) holds a goroutine and its buffers for as long as it
// likes: thousands of them exhaust a server that has no WebSocket open.
// Tests lower it.
var headerTimeout = 5 * time.Second

// newServer is the HTTP server of h, with a timeout on each part of a
// request that a client could stretch. They bound the HTTP part only:
// Upgrade clears the deadlines they set on the connection it takes over,
// and the Upgrader's PingInterval and WriteTimeout bound the WebSocket
// from then on.
func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: headerTimeout,    // the request's head (slowloris)
		ReadTimeout:       10 * time.Second, // the whole request, body included
		WriteTimeout:      10 * time.Second, // the response
		IdleTimeout:       60 * time.Second, // a keep-alive connection between requests
		MaxHeaderBytes:    16 << 10,         // an upgrade request is a few hundred bytes
	}
}

// newHandler serves an echo endpoint at /ws.
func newHandler(upgrader *websocket.Upgrader) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // the client got an HTTP error, 503 during a drain
		}
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return // the drain's close ends up here, as a *CloseError
			}
			if conn.WriteMessage(typ, msg) != nil {
				return
			}
		}
	})
	return mux
}
