package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	ours "github.com/a60656ec/websocket"
)

// The HTTP/2 variants: ours's echo served over cleartext HTTP/2 (h2c with
// prior knowledge), one WebSocket per extended CONNECT stream (RFC 8441).
// net/http serves extended CONNECT only when the process starts with
// http2xconnect=1 in GODEBUG: the driver starts these servers so, and the
// bench's tests rerun themselves so.

// isH2 reports whether lib's server speaks HTTP/2: ours-h2, whose load
// generator gives every WebSocket a TCP connection of its own, and
// ours-h2-mux, whose load generator opens them all on one.
func isH2(lib string) bool { return lib == "ours-h2" || lib == "ours-h2-mux" }

// serveH2 makes srv speak only h2c, so that a request that arrives at all
// arrives over HTTP/2, and counts the TCP connections it accepts.
func (s *echoServer) serveH2(srv *http.Server) {
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	srv.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.tcpConns.Add(1)
		}
	}
}

// serveOursH2 is ours's echo loop over an HTTP/2 stream. The handler must
// not return before the connection has ended: net/http ends the stream
// when it does. So the loop runs in the handler, as the library's README
// shows for HTTP/2, rather than in a goroutine of its own beside a
// handler that would only wait.
func (s *echoServer) serveOursH2(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 2 && r.Method == http.MethodConnect {
		s.h2Streams.Add(1)
	}
	c, err := s.ours.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.track(c, func() error { return c.Close(ours.StatusNormalClosure, "") })
	s.echoOurs(c)
	<-c.Done()
}

// xconnectEnv is the GODEBUG setting of a process that serves extended
// CONNECT: the current one's, with http2xconnect=1 added.
func xconnectEnv() string {
	g := os.Getenv("GODEBUG")
	for _, kv := range strings.Split(g, ",") {
		if strings.TrimSpace(kv) == "http2xconnect=1" {
			return "GODEBUG=" + g
		}
	}
	if g != "" {
		g += ","
	}
	return "GODEBUG=" + g + "http2xconnect=1"
}

// checkH2 checks, for the HTTP/2 servers, that the conns WebSockets a
// fresh server process has served arrived as they should: each as an
// extended CONNECT over HTTP/2, on a TCP connection of its own for
// ours-h2, on as few as the server's limit of concurrent streams allows
// for ours-h2-mux.
func checkH2(lib string, st serverStats, conns int) error {
	if !isH2(lib) {
		return nil
	}
	tcp := int64(conns)
	if lib == "ours-h2-mux" {
		tcp = int64((conns + h2MaxStreams - 1) / h2MaxStreams)
	}
	if st.H2Streams != int64(conns) || st.TCPConns != tcp {
		return fmt.Errorf("%d WebSockets came as %d HTTP/2 CONNECT streams over %d TCP connections, want %d over %d",
			conns, st.H2Streams, st.TCPConns, conns, tcp)
	}
	return nil
}

// h2MaxStreams is net/http's default limit of concurrent streams on an
// HTTP/2 connection, which the servers keep.
const h2MaxStreams = 250
