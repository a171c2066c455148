package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ours "github.com/a60656ec/websocket"
	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"
)

// The echo servers, one per library, each written the way its own docs
// recommend for speed. Every one echoes each message back with its type,
// takes messages of up to readLimit bytes and registers its connections so
// that /closeall can start a close storm.

// defaultLibs are the libraries a run compares, ours first.
var defaultLibs = []string{"ours", "gorilla", "coder", "gws", "gobwas"}

// defaultRun is what a run measures unless -libs says otherwise: the
// libraries and ours through Conn.Serve, the way to hold idle connections
// without a goroutine.
var defaultRun = []string{"ours", "ours-serve", "gorilla", "coder", "gws", "gobwas"}

// variants are extra servers a run may name with -libs, to see where a
// cost comes from; they are not in the default comparison.
var variants = map[string]string{
	"ours-msg":     "ours with ReadMessage/WriteMessage instead of NextReader/NextWriter",
	"ours-cb":      "ours with io.CopyBuffer and a 32 KiB buffer kept per connection",
	"ours-handler": "ours with the read loop inside the HTTP handler, so that net/http keeps its request state",
	"ours-serve":   "ours with Conn.Serve: no goroutine while a connection has nothing to read",
	"gws-par":      "gws with ParallelEnabled: true, as its README's best practice",
}

// deflateLibs are the servers with permessage-deflate (RFC 7692) on, ours
// first: those ending in -deflate negotiate no context takeover on either
// side, those ending in -deflate-ctx context takeover on both. Each uses
// its library's default level, which is flate.BestSpeed for all.
var deflateLibs = []string{
	"ours-deflate", "gorilla-deflate", "coder-deflate", "gws-deflate", "gobwas-deflate",
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
	closeErrSample    atomic.Value // string: the first close error
	// beforeCloseAll, when set, runs as a close storm starts: it starts
	// the CPU profile of a storm measurement.
	beforeCloseAll func()

	ours    ours.Upgrader
	gorilla gorilla.Upgrader
	coder   coder.AcceptOptions
	gws     *gws.Upgrader
	gobwas  *wsflate.Parameters // permessage-deflate parameters; nil: off
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
	if strings.HasPrefix(lib, "gobwas") {
		go s.serveGobwas()
	} else {
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
	}
	return s, nil
}

// Addr is where the echo server listens.
func (s *echoServer) Addr() string { return s.ln.Addr().String() }

// Close stops accepting connections; live ones go on.
func (s *echoServer) Close() error { return s.ln.Close() }

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
	case "ours", "ours-cb", "ours-handler", "ours-serve", "ours-deflate", "ours-deflate-ctx":
		s.serveOurs(w, r)
	case "ours-msg":
		s.serveOursMsg(w, r)
	case "gorilla", "gorilla-deflate":
		s.serveGorilla(w, r)
	case "coder", "coder-deflate", "coder-deflate-ctx":
		s.serveCoder(w, r)
	case "gws", "gws-par", "gws-deflate", "gws-deflate-ctx":
		s.serveGws(w, r)
	}
}

// serveOurs streams each message through NextReader and NextWriter, as
// gorilla's users do, in a goroutine of its own so that the handler
// returns, as the library's README advises for many idle connections.
func (s *echoServer) serveOurs(w http.ResponseWriter, r *http.Request) {
	c, err := s.ours.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.track(c, func() error { return c.Close(ours.StatusNormalClosure, "") })
	switch s.lib {
	case "ours-handler":
		s.echoOurs(c)
	case "ours-serve":
		err = c.Serve(func(typ ours.MessageType, r io.Reader) {
			w, err := c.NextWriter(typ)
			if err != nil {
				return // Close has started
			}
			_, _ = io.Copy(w, r)
			_ = w.Close()
		}, func(ours.CloseEvent) { s.untrack(c) })
		if err != nil {
			panic(err) // Serve fails only when called twice
		}
	default:
		go s.echoOurs(c)
	}
}

func (s *echoServer) echoOurs(c *ours.Conn) {
	defer s.untrack(c)
	var buf []byte
	if s.lib == "ours-cb" {
		buf = make([]byte, 32<<10)
	}
	for {
		typ, rd, err := c.NextReader()
		if err != nil {
			return // the connection has ended
		}
		wr, err := c.NextWriter(typ)
		if err != nil {
			// Writes stop once Close has started; Close, or the peer's
			// close frame, ends the connection.
			return
		}
		if buf != nil {
			_, err = io.CopyBuffer(wr, rd, buf)
		} else {
			_, err = io.Copy(wr, rd)
		}
		if cerr := wr.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return
		}
	}
}

// serveOursMsg is the README's quick start: ReadMessage and WriteMessage.
func (s *echoServer) serveOursMsg(w http.ResponseWriter, r *http.Request) {
	c, err := s.ours.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.track(c, func() error { return c.Close(ours.StatusNormalClosure, "") })
	defer s.untrack(c)
	for {
		typ, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(typ, msg); err != nil {
			return
		}
	}
}

// serveGorilla is gorilla's echo example with NextReader, NextWriter and
// io.Copy (its writer's ReadFrom fills the write buffer directly). Its Close
// only closes TCP, so the close storm sends a close frame and lets this
// loop end when the peer's answer arrives.
func (s *echoServer) serveGorilla(w http.ResponseWriter, r *http.Request) {
	c, err := s.gorilla.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetReadLimit(readLimit)
	s.track(c, func() error {
		_ = c.SetReadDeadline(time.Now().Add(closeWait))
		msg := gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, "")
		return c.WriteControl(gorilla.CloseMessage, msg, time.Now().Add(closeWait))
	})
	defer s.untrack(c)
	for {
		typ, rd, err := c.NextReader()
		if err != nil {
			return
		}
		wr, err := c.NextWriter(typ)
		if err != nil {
			return
		}
		if _, err := io.Copy(wr, rd); err != nil {
			return
		}
		if err := wr.Close(); err != nil {
			return
		}
	}
}

// serveCoder is coder's echo example without its rate limiter: Reader,
// Writer and io.Copy. Its Close runs the closing handshake.
func (s *echoServer) serveCoder(w http.ResponseWriter, r *http.Request) {
	c, err := coder.Accept(w, r, &s.coder)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(readLimit)
	s.track(c, func() error { return c.Close(coder.StatusNormalClosure, "") })
	defer s.untrack(c)
	ctx := context.Background()
	for {
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			return
		}
		wr, err := c.Writer(ctx, typ)
		if err != nil {
			return
		}
		if _, err := io.Copy(wr, rd); err != nil {
			return
		}
		if err := wr.Close(); err != nil {
			return
		}
	}
}

// serveGws is gws's best practice: the event API, ReadLoop in its own
// goroutine so that net/http's request state can be collected. WriteClose
// sends the close frame and closes TCP at once: it does not wait for the
// peer's answer.
func (s *echoServer) serveGws(w http.ResponseWriter, r *http.Request) {
	c, err := s.gws.Upgrade(w, r)
	if err != nil {
		return
	}
	s.track(c, func() error { return c.WriteClose(1000, nil) })
	go c.ReadLoop()
}

type gwsHandler struct {
	gws.BuiltinEventHandler
	s *echoServer
}

func (h *gwsHandler) OnClose(c *gws.Conn, err error) { h.s.untrack(c) }

func (h *gwsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	_ = c.WriteMessage(m.Opcode, m.Bytes())
	_ = m.Close() // hands the buffer back to gws's pool
}

// serveGobwas accepts TCP itself and upgrades with gobwas's zero-copy
// upgrader, then runs the low-level frame loop.
func (s *echoServer) serveGobwas() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.gobwasConn(nc)
	}
}

// gobwasConn is gobwas's low-level loop (ws.ReadHeader, ws.Cipher,
// ws.WriteHeader) with buffers kept per connection: a 4 KiB bufio reader
// and writer, a payload buffer that grows to the largest message, and
// header scratch space. Frames are echoed one for one.
//
// With permessage-deflate (wsflate, no context takeover: wsflate's helpers
// have no other mode) a compressed frame is inflated and the result
// deflated again with wsflate's Reader and Writer around compress/flate at
// BestSpeed, taken from pools for the one message, into buffers kept per
// connection. It must be a whole message: this loop does not reassemble
// fragments (the load generator never fragments).
type gobwasConn struct {
	nc      net.Conn
	br      *bufio.Reader
	hr      [ws.MaxHeaderSize]byte
	payload []byte

	deflate bool         // permessage-deflate negotiated
	zsrc    bytes.Reader // a compressed payload being inflated
	plain   []byte       // its inflated bytes
	zout    sliceWriter  // those bytes deflated again

	wmu       sync.Mutex // guards the fields below: the close storm writes from another goroutine
	closeSent bool
	bw        *bufio.Writer
	hw        [ws.MaxHeaderSize]byte
	hb        sliceWriter
	vec       [2][]byte
	bufs      net.Buffers
}

func (s *echoServer) gobwasConn(nc net.Conn) {
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	var ext *wsflate.Extension
	if s.gobwas != nil {
		ext = &wsflate.Extension{Parameters: *s.gobwas}
		u := ws.Upgrader{Negotiate: ext.Negotiate}
		if _, err := u.Upgrade(nc); err != nil {
			return
		}
	} else if _, err := ws.Upgrade(nc); err != nil {
		return
	}
	_ = nc.SetDeadline(time.Time{})
	g := &gobwasConn{
		nc: nc,
		br: bufio.NewReaderSize(nc, 4096),
		bw: bufio.NewWriterSize(nc, 4096),
	}
	if ext != nil {
		_, g.deflate = ext.Accepted()
	}
	g.hb.b = make([]byte, 0, ws.MaxHeaderSize)
	s.track(g, func() error {
		g.wmu.Lock()
		defer g.wmu.Unlock()
		g.closeSent = true
		_ = nc.SetReadDeadline(time.Now().Add(closeWait))
		body := ws.NewCloseFrameBody(ws.StatusNormalClosure, "")
		return g.writeLocked(ws.Header{Fin: true, OpCode: ws.OpClose}, body)
	})
	defer s.untrack(g)
	g.loop()
}

func (g *gobwasConn) loop() {
	for {
		h, err := ws.ReadHeaderBuffer(g.br, g.hr[:])
		if err != nil {
			return
		}
		if h.Length > readLimit || !h.Masked {
			return
		}
		if int64(cap(g.payload)) < h.Length {
			g.payload = make([]byte, h.Length)
		}
		p := g.payload[:h.Length]
		if _, err := io.ReadFull(g.br, p); err != nil {
			return
		}
		ws.Cipher(p, h.Mask, 0)
		if g.deflate && h.OpCode.IsData() && h.Rsv1() {
			if !h.Fin {
				return // fragmented compressed messages: see gobwasConn
			}
			if p, err = g.recompress(p); err != nil {
				return
			}
			h.Rsv = ws.Rsv(true, false, false)
		}
		g.wmu.Lock()
		switch h.OpCode {
		case ws.OpClose:
			if !g.closeSent {
				// The peer started: answer with its code, then close.
				code, _ := ws.ParseCloseFrameData(p)
				_ = g.writeLocked(ws.Header{Fin: true, OpCode: ws.OpClose}, ws.NewCloseFrameBody(code, ""))
			}
			err = io.EOF
		case ws.OpPing:
			err = g.writeLocked(ws.Header{Fin: true, OpCode: ws.OpPong}, p)
		case ws.OpPong:
		default:
			if !g.closeSent { // no data after our close frame
				err = g.writeLocked(h, p)
			}
		}
		g.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// Pools of wsflate's Reader and Writer, each around compress/flate.
var (
	gobwasReaders = sync.Pool{New: func() any {
		return wsflate.NewReader(nil, func(r io.Reader) wsflate.Decompressor {
			return flateReadResetter{flate.NewReader(r)}
		})
	}}
	gobwasWriters = sync.Pool{New: func() any {
		return wsflate.NewWriter(nil, func(w io.Writer) wsflate.Compressor {
			fw, _ := flate.NewWriter(w, flate.BestSpeed)
			return fw
		})
	}}
)

// flateReadResetter gives compress/flate's decompressor the Reset that
// wsflate.Reader looks for, so that a pooled Reader keeps it.
type flateReadResetter struct{ io.ReadCloser }

func (f flateReadResetter) Reset(r io.Reader) { _ = f.ReadCloser.(flate.Resetter).Reset(r, nil) }

var errInflateLimit = errors.New("message inflates past the read limit")

// recompress inflates one compressed message and deflates the result
// again, as an echo server that looks at its messages must; the result is
// valid until the next call.
func (g *gobwasConn) recompress(p []byte) ([]byte, error) {
	g.zsrc.Reset(p)
	fr := gobwasReaders.Get().(*wsflate.Reader)
	fr.Reset(&g.zsrc)
	g.plain = g.plain[:0]
	var err error
	for {
		if len(g.plain) == cap(g.plain) {
			if len(g.plain) >= readLimit {
				err = errInflateLimit
				break
			}
			g.plain = append(g.plain, 0)[:len(g.plain)]
		}
		var n int
		n, err = fr.Read(g.plain[len(g.plain):cap(g.plain)])
		g.plain = g.plain[:len(g.plain)+n]
		if err != nil {
			break
		}
	}
	gobwasReaders.Put(fr)
	if err != io.EOF {
		return nil, err
	}
	g.zout.b = g.zout.b[:0]
	fw := gobwasWriters.Get().(*wsflate.Writer)
	fw.Reset(&g.zout)
	_, err = fw.Write(g.plain)
	if err == nil {
		err = fw.Flush() // strips the sync flush's tail
	}
	gobwasWriters.Put(fw)
	return g.zout.b, err
}

// writeLocked writes one unmasked frame; the caller holds wmu.
func (g *gobwasConn) writeLocked(h ws.Header, p []byte) error {
	h.Masked = false
	h.Length = int64(len(p))
	g.hb.b = g.hb.b[:0]
	if err := ws.WriteHeaderBuffer(&g.hb, h, g.hw[:]); err != nil {
		return err
	}
	if len(g.hb.b)+len(p) > g.bw.Size() {
		// Too big to buffer: header and payload in one writev.
		g.vec = [2][]byte{g.hb.b, p}
		g.bufs = g.vec[:]
		_, err := g.bufs.WriteTo(g.nc)
		return err
	}
	_, _ = g.bw.Write(g.hb.b)
	_, _ = g.bw.Write(p)
	return g.bw.Flush()
}

// sliceWriter collects what is written to it.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// serverStats is what /stats reports: the server process's own figures.
type serverStats struct {
	CPUUser    float64 `json:"cpu_user"` // seconds, getrusage(RUSAGE_SELF)
	CPUSys     float64 `json:"cpu_sys"`
	Mallocs    uint64  `json:"mallocs"`     // runtime.MemStats
	TotalAlloc uint64  `json:"total_alloc"` // bytes
	HeapInuse  uint64  `json:"heap_inuse"`
	StackInuse uint64  `json:"stack_inuse"`
	Sys        uint64  `json:"sys"`
	NumGC      uint32  `json:"num_gc"`
	RSS        int64   `json:"rss"` // VmRSS of /proc/self/status, bytes
	Goroutines int     `json:"goroutines"`
	Conns      int     `json:"conns"`
	CloseOK    int64   `json:"close_ok"`
	CloseErr   int64   `json:"close_err"`
	CloseErrEx string  `json:"close_err_example,omitempty"`
}

// snapshot reads the figures; with gc it first runs a collection and
// returns freed memory to the OS, so that RSS counts live memory.
func (s *echoServer) snapshot(gc bool) serverStats {
	if gc {
		runtime.GC()
		debug.FreeOSMemory()
		if dir := os.Getenv("BENCH_HEAPPROFILE"); dir != "" {
			// A development aid: the live heap at each collected snapshot.
			if f, err := os.CreateTemp(dir, s.lib+"-heap-*.pprof"); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := serverStats{
		Mallocs:    ms.Mallocs,
		TotalAlloc: ms.TotalAlloc,
		HeapInuse:  ms.HeapInuse,
		StackInuse: ms.StackInuse,
		Sys:        ms.Sys,
		NumGC:      ms.NumGC,
		RSS:        rssBytes(),
		Goroutines: runtime.NumGoroutine(),
		Conns:      s.live(),
		CloseOK:    s.closeOK.Load(),
		CloseErr:   s.closeErr.Load(),
	}
	st.CPUUser, st.CPUSys = cpuTime()
	if v, ok := s.closeErrSample.Load().(string); ok {
		st.CloseErrEx = v
	}
	return st
}

// controlHandler serves /stats and /closeall for the driver.
func (s *echoServer) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		st := s.snapshot(r.URL.Query().Get("gc") == "1")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	mux.HandleFunc("POST /closeall", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", s.closeAll())
	})
	return mux
}
