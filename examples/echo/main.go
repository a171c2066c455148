// Command echo serves a WebSocket echo endpoint and a page to try it from a
// browser, including every way a connection can end.
//
// Run it from the repository root and open http://127.0.0.1:8080/:
//
//	go run ./examples/echo
//
// Every message sent to /ws comes back with its type, except three text
// commands:
//
//	/close <code> <reason...>   Close(code, reason): the closing handshake
//	/terminate                  Terminate(): drop TCP without a close frame
//	/flood <bytes>              send a binary message of that many random bytes
//
// A connection opened as /ws?id=<id> keeps a record of how it ended, as
// the server saw it through the library's API; GET /record?id=<id> serves
// it as JSON once the connection has ended, and the page draws it beside
// what the browser saw. /ws?close-timeout=short gives the connection a
// close timeout of 500 ms, which a page that stops reading can outlast.
package main

import (
	_ "embed"
	"expvar"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a60656ec/websocket"
)

//go:embed index.html
var indexHTML []byte

// diagramJS draws the page's sequence diagram of a closing handshake.
//
//go:embed diagram.js
var diagramJS []byte

// upgrader keeps the default origin check, which refuses cross-origin
// browser pages: the page that connects is served by this server. Browsers
// offer permessage-deflate, and this server accepts it, compressing each
// message on its own so that an idle connection holds no compressor.
// It counts every connection into stats, which /debug/vars shows.
var upgrader = websocket.Upgrader{
	Compression: websocket.CompressionNoContextTakeover,
	Stats:       &stats,
}

// stats counts how the connections open, what they carry and how they
// end; expvar publishes a snapshot of it as "websocket" at /debug/vars.
var stats websocket.Stats

func init() {
	expvar.Publish("websocket", expvar.Func(func() any { return stats.Snapshot() }))
}

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

// newHandler serves the page at / (and its script), the echo endpoint at /ws and the
// records of how connections ended at /record.
func newHandler(log *slog.Logger) http.Handler {
	recs := newRecords()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(indexHTML)
	})
	mux.HandleFunc("GET /diagram.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(diagramJS)
	})
	// No method in the pattern: Upgrade itself answers a non-GET with 405.
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		echo(log, recs, w, r)
	})
	mux.HandleFunc("GET /record", recs.serveRecord)
	mux.Handle("GET /debug/vars", expvar.Handler())
	return mux
}

// shortCloseTimeout is the close timeout of a connection opened with
// /ws?close-timeout=short, short enough for the page to outlast it by
// blocking its main thread, which leaves the server's close frame unread.
const shortCloseTimeout = 500 * time.Millisecond

// upgraderFor picks the Upgrader a request asks for: the close timeout is
// per Upgrader, so a short one takes an Upgrader of its own.
func upgraderFor(r *http.Request) *websocket.Upgrader {
	if r.URL.Query().Get("close-timeout") == "short" {
		short := upgrader
		short.CloseTimeout = shortCloseTimeout
		return &short
	}
	return &upgrader
}

// maxFlood bounds the message /flood sends, so that no request makes the
// server hold more than this.
const maxFlood = 8 << 20

// echo runs one connection: it sends every message back until the
// connection ends, then logs how it ended. The connection's record,
// under the id the page gave in the URL (or one of the server's), notes
// what the handler did and saw on the way.
func echo(log *slog.Logger, recs *records, w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		id = recs.newID()
	} else if !validID.MatchString(id) {
		http.Error(w, "the id must be 1 to 64 letters, digits, - or _", http.StatusBadRequest)
		return
	}
	rec, err := recs.start(id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	conn, err := upgraderFor(r).Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has already sent the client an HTTP error.
		log.Warn("upgrade refused", "remote", r.RemoteAddr, "err", err)
		rec.end(websocket.CloseEvent{Code: websocket.StatusAbnormalClosure, Err: err})
		return
	}
	log = log.With("remote", conn.RemoteAddr(), "id", id)
	log.Info("connected")

	// Close waits for the peer's close frame. Called from this loop, it
	// would read in the loop's place (after a grace of 100 ms) and discard
	// the messages the peer still sends before its close frame; run in a
	// goroutine of its own, it leaves them to this loop, which echoes them
	// and logs them, then gets the peer's close. Its wait is bounded by the
	// Upgrader's CloseTimeout, so closing.Wait below returns.
	var closing sync.WaitGroup
	// Done closes when TCP is closed: the record notes when.
	closing.Go(func() {
		<-conn.Done()
		rec.add(fact{kind: "done", source: "Done()", text: "TCP closed", closing: true})
	})

	for {
		// ReadMessage fails once the connection has ended, however it
		// ended: the peer's close, our Close, Terminate, a dropped TCP
		// connection or a protocol violation.
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			log.Info("read ended", "err", err)
			rec.add(readEndFact(err))
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
			closing.Go(func() { closeConn(log, rec, conn, websocket.StatusCode(code), reason) })
		case typ == websocket.TextMessage && cmd == "/terminate":
			// Terminate drops TCP at once; the next read reports it.
			rec.add(fact{kind: "terminate", source: "the handler", text: "Terminate()", closing: true})
			_ = conn.Terminate()
		case typ == websocket.TextMessage && cmd == "/flood":
			n, err := strconv.Atoi(strings.TrimSpace(args))
			if err != nil || n < 1 || n > maxFlood {
				reply(log, conn, fmt.Sprintf("usage: /flood <bytes>, 1 to %d", maxFlood))
				continue
			}
			flood(log, rec, conn, n)
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
	rec.end(ev)
	log.Info("connection ended",
		"code", ev.Code, "reason", ev.Reason, "wasClean", ev.WasClean,
		"initiator", ev.Initiator, "err", ev.Err)
}

// closeConn runs Close and notes in the record when it was called and
// when it returned.
func closeConn(log *slog.Logger, rec *record, conn *websocket.Conn, code websocket.StatusCode, reason string) {
	call := rec.add(fact{kind: "close-call", source: "the handler", closing: true, code: code, reason: reason,
		text: fmt.Sprintf("Close(%d, %q) called", code, reason)})
	err := conn.Close(code, reason)
	ret := fact{kind: "close-return", source: "Close's result", closing: true, cause: causeName(err)}
	if err == nil {
		ret.text = "Close returned nil: the handshake completed"
	} else {
		ret.text = "Close returned: " + err.Error()
	}
	select {
	case <-conn.Done():
	default:
		// An error before the end: Close refused its arguments, or
		// another close had begun. Neither call is part of the end.
		rec.notClosing(call)
		ret.closing = false
	}
	rec.add(ret)
	if err != nil {
		// An invalid code or reason is refused before anything is sent,
		// and the connection stays open: say why. Other errors mean the
		// connection has ended, and the reply just fails.
		log.Warn("close failed", "code", code, "reason", reason, "err", err)
		reply(log, conn, "close refused: "+err.Error())
	}
}

// flood sends a binary message of n random bytes, more than the browser
// buffers for a page whose main thread is busy: what follows it, such as
// a close frame, stays unread until the page runs again. Random bytes do
// not shrink under compression, so n bytes are what crosses the wire.
func flood(log *slog.Logger, rec *record, conn *websocket.Conn, n int) {
	data := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{})
	_, _ = rng.Read(data)
	if err := conn.WriteMessage(websocket.BinaryMessage, data); err != nil {
		log.Info("flood failed", "err", err)
		return
	}
	rec.add(fact{kind: "flood", source: "WriteMessage's return",
		text: fmt.Sprintf("a %d-byte binary message written", n)})
}

// reply sends a text message to the peer, logging a failure.
func reply(log *slog.Logger, conn *websocket.Conn, text string) {
	if err := conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		log.Info("reply failed", "err", err)
	}
}
