package main

import (
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
)

// nbioServer is lesismal/nbio as its examples for many connections use
// it: the nbhttp engine, which reads every connection from its own epoll
// poller (non-blocking mode, its default: no goroutine per connection),
// serves the upgrade request through an http.Handler, and hands each
// message whole to the upgrader's OnMessage callback on its pool of
// goroutines. Payloads go back to nbio's pool when the callback returns
// (ReleaseWebsocketPayload, as in its million-connection example).
//
// nbio's Conn.Close only drops TCP, and its default handler for the
// peer's close frame answers with one of its own, even to the answer of
// a close frame nbio sent. The close storm therefore writes a close frame
// with WriteClose, marks the connection in closing, and sets a read
// deadline; the close handler answers only the closes the peer started,
// and nbio closes TCP after it, when the peer's answer arrives.
type nbioServer struct {
	engine   *nbhttp.Engine
	upgrader *nbws.Upgrader
	closing  sync.Map // *nbws.Conn: the close storm has sent its close frame
}

// nbioLogs sends nbio's log, which goes to standard output by default,
// to standard error: the driver reads the server's address from standard
// output.
var nbioLogs sync.Once

// startNbio serves s's echo with nbio on s.ln.
func (s *echoServer) startNbio() error {
	nbioLogs.Do(func() {
		logging.Output = os.Stderr
		logging.SetLevel(logging.LevelError)
	})
	n := &nbioServer{upgrader: nbws.NewUpgrader()}
	u := n.upgrader
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.MessageLengthLimit = readLimit
	// No read deadline, as for the other servers: by default nbio moves a
	// connection's read deadline 120 s on after every message.
	u.KeepaliveTime = 0
	if deflateMode(s.lib) == compressNoContext {
		// nbio's only mode: no context takeover on either side, level 1.
		u.EnableCompression(true)
	}
	u.OnMessage(func(c *nbws.Conn, typ nbws.MessageType, data []byte) {
		_ = c.WriteMessage(typ, data)
	})
	u.SetCloseHandler(func(c *nbws.Conn, code int, _ string) {
		if _, sent := n.closing.Load(c); sent {
			return // the answer to ours: nbio closes TCP after this returns
		}
		if code == 1005 { // no status code: answer without one
			_ = c.WriteMessage(nbws.CloseMessage, nil)
			return
		}
		_ = c.WriteClose(code, "")
	})
	u.OnClose(func(c *nbws.Conn, err error) {
		n.closing.Delete(c)
		s.untrack(c)
	})
	ln := s.ln
	n.engine = nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{ln.Addr().String()},
		// The listener startEcho opened on 127.0.0.1.
		Listen:                  func(string, string) (net.Listener, error) { return ln, nil },
		Handler:                 http.HandlerFunc(s.serveNbio),
		ReleaseWebsocketPayload: true,
	})
	s.nbio = n
	return n.engine.Start()
}

// serveNbio upgrades a request; from then on nbio's poller reads the
// connection and calls the upgrader's callbacks.
func (s *echoServer) serveNbio(w http.ResponseWriter, r *http.Request) {
	n := s.nbio
	c, err := n.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.track(c, func() error {
		n.closing.Store(c, struct{}{})
		_ = c.SetReadDeadline(time.Now().Add(closeWait))
		return c.WriteClose(1000, "")
	})
}

// broadcastNbio writes each message to one connection after another with
// WriteMessage: nbio has no prepared message or broadcast helper, so each
// write frames (and, with compression, compresses) the message again
// into a buffer of nbio's pool. nbio's writes do not block: what the
// socket does not take at once, nbio keeps and its poller sends later.
// delivered counts the messages nbio took.
func broadcastNbio(keys []any, msgs [][]byte) (delivered, failed int64, err error) {
	conns := connsOf[*nbws.Conn](keys)
	for _, m := range msgs {
		for _, c := range conns {
			if c.WriteMessage(nbws.TextMessage, m) == nil {
				delivered++
			} else {
				failed++
			}
		}
	}
	return delivered, failed, nil
}
