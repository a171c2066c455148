// Command echo serves a WebSocket echo endpoint and a page to try it from a
// browser, including every way a connection can end.
//
// Run it from the repository root and open http://127.0.0.1:8080/:
//
//	go run ./examples/echo
//
// Every message sent to /ws comes back with its type, except two text
// commands that end the connection from the server's side:
//
//	/close <code> <reason...>   Close(code, reason): the closing handshake
//	/terminate                  Terminate(): drop TCP without a close frame
package main

import (
	_ "embed"
	"flag"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a60656ec/websocket"
)

//go:embed index.html
var indexHTML []byte

// upgrader keeps the default origin check, which refuses cross-origin
// browser pages: the page that connects is served by this server. Browsers
// offer permessage-deflate, and this server accepts it, compressing each
// message on its own so that an idle connection holds no compressor.
var upgrader = websocket.Upgrader{Compression: websocket.CompressionNoContextTakeover}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()

	slog.Info("listening", "url", "http://"+*addr+"/")
	if err := newServer(*addr, newHandler(slog.Default())).ListenAndServe(); err != nil {
		slog.Error("server stopped", "err", err)
	}
}

// headerTimeout bounds how long a client may take to send its request's
// head. Without it, a client that sends its upgrade request a byte at a
// time (slowloris) holds a goroutine and its buffers for as long as it
// likes: thousands of them exhaust a server that has no WebSocket open.
// Tests lower it.
var headerTimeout = 5 * time.Second

// newServer is the HTTP server of h. Its timeout bounds the HTTP part of a
// request only: Upgrade clears the deadlines it sets on the connection it
// takes over, and the Upgrader bounds the WebSocket from then on.
func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: headerTimeout}
}

// newHandler serves the page at / and the echo endpoint at /ws.
func newHandler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(indexHTML)
	})
	// No method in the pattern: Upgrade itself answers a non-GET with 405.
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		echo(log, w, r)
	})
	return mux
}

// echo runs one connection: it sends every message back until the
// connection ends, then logs how it ended.
func echo(log *slog.Logger, w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has already sent the client an HTTP error.
		log.Warn("upgrade refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	log = log.With("remote", conn.RemoteAddr())
	log.Info("connected")

	// Close waits for the peer's close frame. Called from this loop, it
	// would read in the loop's place (after a grace of 100 ms) and discard
	// the messages the peer still sends before its close frame; run in a
	// goroutine of its own, it leaves them to this loop, which echoes them
	// and logs them, then gets the peer's close. Its wait is bounded by the
	// Upgrader's CloseTimeout, so closing.Wait below returns.
	var closing sync.WaitGroup

	for {
		// ReadMessage fails once the connection has ended, however it
		// ended: the peer's close, our Close, Terminate, a dropped TCP
		// connection or a protocol violation.
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			log.Info("read ended", "err", err)
			break
		}

		cmd, args, _ := strings.Cut(string(msg), " ")
		switch {
		case typ == websocket.TextMessage && cmd == "/close":
			codeArg, reason, _ := strings.Cut(strings.TrimSpace(args), " ")
			code, err := strconv.ParseUint(codeArg, 10, 16)
			if err != nil {
				reply(log, conn, "usage: /close <code> <reason...>")
				continue
			}
			closing.Go(func() {
				if err := conn.Close(websocket.StatusCode(code), reason); err != nil {
					// An invalid code or reason is refused before anything
					// is sent, and the connection stays open: say why.
					// Other errors mean the connection has ended, and
					// the reply just fails.
					log.Warn("close failed", "code", code, "reason", reason, "err", err)
					reply(log, conn, "close refused: "+err.Error())
				}
			})
		case typ == websocket.TextMessage && cmd == "/terminate":
			// Terminate drops TCP at once; the next read reports it.
			_ = conn.Terminate()
		default:
			if err := conn.WriteMessage(typ, msg); err != nil {
				// A failed write ends the connection, or Close has begun
				// and forbids data frames: the next read tells which.
				log.Info("echo failed", "err", err)
			}
		}
	}

	// Let a Close in flight return first. Once a read has failed, the
	// connection has ended and CloseEvent tells how.
	closing.Wait()
	ev := conn.CloseEvent()
	log.Info("connection ended",
		"code", ev.Code, "reason", ev.Reason, "wasClean", ev.WasClean,
		"initiator", ev.Initiator, "err", ev.Err)
}

// reply sends a text message to the peer, logging a failure.
func reply(log *slog.Logger, conn *websocket.Conn, text string) {
	if err := conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		log.Info("reply failed", "err", err)
	}
}
