package main

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ours "github.com/a60656ec/websocket"
	coder "github.com/coder/websocket"
	"github.com/gobwas/ws/wsflate"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"
)

// The echo servers, one per library, each written the way its own docs
// recommend for speed. Every one echoes each message back with its type,
// takes messages of up to readLimit bytes and registers its connections so
// that /closeall can start a close storm.

// defaultLibs are the libraries a run compares, ours first.
var defaultLibs = []string{"ours", "gorilla", "coder", "gws", "gobwas", "nbio"}

// defaultRun is what a run measures unless -libs says otherwise: the
// libraries and ours through Conn.Serve, the way to hold idle connections
// without a goroutine.
var defaultRun = []string{"ours", "ours-serve", "gorilla", "coder", "gws", "gobwas", "nbio"}

// variants are extra servers a run may name with -libs, to see where a
// cost comes from; they are not in the default comparison.
var variants = map[string]string{
	"ours-msg":     "ours with ReadMessage/WriteMessage instead of NextReader/NextWriter",
	"ours-cb":      "ours with io.CopyBuffer and a 32 KiB buffer kept per connection",
	"ours-handler": "ours with the read loop inside the HTTP handler, so that net/http keeps its request state",
	"ours-serve":   "ours with Conn.Serve: no goroutine while a connection has nothing to read",
	"ours-stats":   "ours counting into a Stats (Upgrader.Stats): the price of the connection statistics",
	"ours-each":    "ours broadcasting with one Broadcast call per message, rather than one call for the messages at hand",
	"ours-h2":      "ours over cleartext HTTP/2, one WebSocket per extended CONNECT stream, a TCP connection per WebSocket",
	"ours-h2-mux":  "ours over cleartext HTTP/2, every WebSocket a stream of one shared TCP connection, as a browser opens them",
	"gws-par":      "gws with ParallelEnabled: true, as its README's best practice",
}

// deflateLibs are the servers with permessage-deflate (RFC 7692) on, ours
// first: those ending in -deflate negotiate no context takeover on either
// side, those ending in -deflate-ctx context takeover on both. Each uses
// its library's default level, which is flate.BestSpeed for all.
var deflateLibs = []string{
	"ours-deflate", "gorilla-deflate", "coder-deflate", "gws-deflate", "gobwas-deflate", "nbio-deflate",
	"ours-deflate-ctx", "coder-deflate-ctx", "gws-deflate-ctx",
}

// deflateMode is the compression lib's server negotiates, and so what the
// load generator offers it.
func deflateMode(lib string) compression {
	switch {
	case strings.HasSuffix(lib, "-deflate"):
		return compressNoContext
	case strings.HasSuffix(lib, "-deflate-ctx"):
		return compressContext
	}
	return compressNone
}

func knownLib(lib string) bool {
	_, ok := variants[lib]
	return ok || slices.Contains(defaultLibs, lib) || slices.Contains(deflateLibs, lib)
}

// readLimit is the largest message every server accepts.
const readLimit = 1 << 20

// closeWait bounds how long a server waits for the peer's answer to its
// close frame where the library leaves that wait to the application.
const closeWait = 5 * time.Second

// echoServer is one library's echo server and its control endpoints.
type echoServer struct {
	lib string
	ln  net.Listener

	mu    sync.Mutex
	conns map[any]func() error // the live connections and how to close each

	closeOK, closeErr atomic.Int64
	// The HTTP/2 servers count the requests that arrived over HTTP/2 as
	// CONNECT, and the TCP connections they accepted.
	h2Streams, tcpConns atomic.Int64
	closeErrSample      atomic.Value // string: the first close error
	// beforeCloseAll, when set, runs as a close storm starts: it starts
	// the CPU profile of a storm measurement.
	beforeCloseAll func()

	ours    ours.Upgrader
	gorilla gorilla.Upgrader
	coder   coder.AcceptOptions
	gws     *gws.Upgrader
	gobwas  *wsflate.Parameters // permessage-deflate parameters; nil: off
	nbio    *nbioServer
}

// startEcho listens on 127.0.0.1 and serves lib's echo server until ln is
// closed.
func startEcho(lib string) (*echoServer, error) {
	if !knownLib(lib) {
		return nil, fmt.Errorf("unknown library %q", lib)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &echoServer{lib: lib, ln: ln, conns: make(map[any]func() error)}
	// Zero values: 4 KiB buffers, 1 MiB read limit. gorilla's zero
	// Upgrader reuses the buffers net/http used for the request.
	s.gorilla.CheckOrigin = func(*http.Request) bool { return true }
	s.coder.InsecureSkipVerify = true
	if lib == "ours-stats" {
		s.ours.Stats = new(ours.Stats)
	}
	mode := deflateMode(lib)
	switch mode {
	case compressNoContext:
		s.ours.Compression = ours.CompressionNoContextTakeover
		s.gorilla.EnableCompression = true // no context takeover is all it has
		s.coder.CompressionMode = coder.CompressionNoContextTakeover
		s.gobwas = &wsflate.Parameters{ServerNoContextTakeover: true, ClientNoContextTakeover: true}
	case compressContext:
		s.ours.Compression = ours.CompressionContextTakeover
		s.coder.CompressionMode = coder.CompressionContextTakeover
	}
	if strings.HasPrefix(lib, "gws") {
		opt := &gws.ServerOption{
			ParallelEnabled:    lib == "gws-par",
			Recovery:           gws.Recovery,
			ReadMaxPayloadSize: readLimit,
		}
		if mode != compressNone {
			// Context takeover on both sides or on neither. Under context
			// takeover gws limits both windows to 4 KiB unless told
			// otherwise; the others use 32 KiB, and so must the
			// load generator's compress/flate.
			ctx := mode == compressContext
			opt.PermessageDeflate = gws.PermessageDeflate{
				Enabled:               true,
				ServerContextTakeover: ctx,
				ClientContextTakeover: ctx,
				ServerMaxWindowBits:   15,
				ClientMaxWindowBits:   15,
			}
		}
		s.gws = gws.NewUpgrader(&gwsHandler{s: s}, opt)
	}
	switch {
	case strings.HasPrefix(lib, "gobwas"):
		go s.serveGobwas()
	case strings.HasPrefix(lib, "nbio"):
		if err := s.startNbio(); err != nil {
			ln.Close()
			return nil, err
		}
	default:
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
		if isH2(lib) {
			s.serveH2(srv)
		}
		go srv.Serve(ln)
	}
	return s, nil
}

// Addr is where the echo server listens.
func (s *echoServer) Addr() string { return s.ln.Addr().String() }

// Close stops accepting connections; live ones go on, except with nbio,
// whose engine stops and closes them.
func (s *echoServer) Close() error {
	if s.nbio != nil {
		s.nbio.engine.Stop()
	}
	return s.ln.Close()
}

func (s *echoServer) track(key any, closer func() error) {
	s.mu.Lock()
	s.conns[key] = closer
	s.mu.Unlock()
}

func (s *echoServer) untrack(key any) {
	s.mu.Lock()
	delete(s.conns, key)
	s.mu.Unlock()
}

func (s *echoServer) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// closeAll starts closing every live connection at once, one goroutine
// each, and returns how many it started.
func (s *echoServer) closeAll() int {
	if s.beforeCloseAll != nil {
		s.beforeCloseAll()
	}
	s.mu.Lock()
	closers := make([]func() error, 0, len(s.conns))
	for _, f := range s.conns {
		closers = append(closers, f)
	}
	s.mu.Unlock()
	for _, f := range closers {
		go func() {
			if err := f(); err != nil {
				s.closeErr.Add(1)
				s.closeErrSample.CompareAndSwap(nil, err.Error())
			} else {
				s.closeOK.Add(1)
			}
		}()
	}
	return len(closers)
}

func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch s.lib {
	case "ours", "ours-cb", "ours-handler", "ours-serve", "ours-stats", "ours-each", "ours-deflate", "ours-deflate-ctx":
		s.serveOurs(w, r)
	case "ours-msg":
		s.serveOursMsg(w, r)
	case "ours-h2", "ours-h2-mux":
		s.serveOursH2(w, r)
	case "gorilla", "gorilla-deflate":
		s.serveGorilla(w, r)
	case "coder", "coder-deflate", "coder-deflate-ctx":
		s.serveCoder(w, r)
	case "gws", "gws-par", "gws-deflate", "gws-deflate-ctx":
		s.serveGws(w, r)
	}
}
