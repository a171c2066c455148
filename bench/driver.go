package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// config is one run's shape.
type config struct {
	quick      bool
	libs       []string
	reps       int
	sizes      []int
	connCounts []int
	warm       time.Duration // warm-up of a throughput cell, not measured
	dur        time.Duration // measured time of a throughput cell
	maxRTs     int           // cap on the measured round trips of a cell
	manyConns  int           // connections for idle memory and the close storm
	readme     string
	// only, when set, keeps the measurements whose names it matches:
	// cells such as "1 KiB × 100" or "64 KiB JSON × 100", "idle/close
	// storm" and "idle with compression".
	only *regexp.Regexp

	// The compression cells: JSON text messages of deflateSizes over
	// deflateConnCounts connections, to deflateLibs and, as the reference
	// without compression, to ours. Idle memory with compression on is
	// measured over manyConns connections, ctxIdleConns under context
	// takeover (each of those keeps a compressor in both processes).
	deflateLibs       []string
	deflateSizes      []int
	deflateConnCounts []int
	ctxIdleConns      int

	// The broadcast cells: broadcastCount messages of each of
	// broadcastSizes to each of broadcastConns connections, without
	// compression and with it (no context takeover), in the first
	// broadcastReps repetitions only: a broadcast to 10,000 connections
	// takes 10 to 30 s.
	broadcastReps  int
	broadcastConns []int
	broadcastSizes []int
	broadcastCount int

	// clientLibs are the clients of the client comparison (-clients),
	// which runs instead of the server comparison, against ours.
	clientLibs []string
}

func defaultConfig(quick bool) config {
	c := config{
		quick:             quick,
		reps:              5,
		sizes:             []int{16, 1 << 10, 64 << 10},
		connCounts:        []int{1, 100},
		warm:              200 * time.Millisecond,
		dur:               1500 * time.Millisecond,
		maxRTs:            5_000_000,
		manyConns:         10_000,
		deflateLibs:       deflateLibs,
		deflateSizes:      []int{1 << 10, 64 << 10},
		deflateConnCounts: []int{100}, // 1 connection left out of the default run for its length
		ctxIdleConns:      1_000,
		broadcastConns:    []int{10_000, 1_000},
		broadcastSizes:    []int{16, 1 << 10},
		broadcastCount:    100,
		broadcastReps:     3,
		clientLibs:        clientLibs,
	}
	if quick {
		c.reps = 3
		c.warm = 100 * time.Millisecond
		c.dur = 400 * time.Millisecond
		c.manyConns = 1_000
		c.ctxIdleConns = 200
		c.broadcastConns = []int{1_000, 100}
	}
	return c
}

const (
	serverCPU = 0 // the echo server's CPU
	clientCPU = 1 // the load generator's CPU
	// ioTimeout bounds every client read and write outside the close
	// storm, so that a stuck server fails the cell instead of the run.
	ioTimeout = 10 * time.Second
	// stormTimeout bounds the close storm.
	stormTimeout = 30 * time.Second
)

// serverProc is one echo server process.
type serverProc struct {
	lib   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ws    string
	ctl   string
	http  *http.Client
	dial  *loadDialer // how the load generator connects to it
	// alloc* is what a /stats round trip itself allocates in the server,
	// measured once and taken off each delta.
	allocN, allocBytes uint64
}

// startServer starts this binary as lib's echo server, on serverCPU with
// GOMAXPROCS=1.
// what names the measurement in the server's CPU profile file, when
// BENCH_CPUPROFILE asks for one.
func startServer(lib, what string) (*serverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve", "-lib", lib, "-cpu", fmt.Sprint(serverCPU))
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "BENCH_WHAT="+profileName(what))
	if isH2(lib) {
		cmd.Env = append(cmd.Env, xconnectEnv()) // the last GODEBUG counts
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{lib: lib, cmd: cmd, stdin: stdin, http: &http.Client{Timeout: ioTimeout}, dial: newLoadDialer(lib)}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var procs int
	if err == nil {
		_, err = fmt.Sscanf(line, "ws=%s stats=%s gomaxprocs=%d", &p.ws, &p.ctl, &procs)
	}
	if err == nil && procs != 1 {
		err = fmt.Errorf("server runs with GOMAXPROCS=%d", procs)
	}
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("starting the %s server: %v", lib, err)
	}
	// The first requests on the control connection allocate more than
	// later ones: take the smallest of a few deltas.
	prev, err := p.stats(false)
	for i := 0; i < 4 && err == nil; i++ {
		var st serverStats
		if st, err = p.stats(false); err == nil {
			n, b := st.Mallocs-prev.Mallocs, st.TotalAlloc-prev.TotalAlloc
			if i == 0 || n < p.allocN {
				p.allocN, p.allocBytes = n, b
			}
			prev = st
		}
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *serverProc) stats(gc bool) (serverStats, error) {
	var st serverStats
	url := "http://" + p.ctl + "/stats"
	if gc {
		url += "?gc=1"
	}
	resp, err := p.http.Get(url)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	_, _ = io.Copy(io.Discard, resp.Body)
	return st, err
}

func (p *serverProc) closeAll() error {
	resp, err := p.http.Post("http://"+p.ctl+"/closeall", "text/plain", nil)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// stop closes the server's standard input, which ends it; a server that
// has not exited within 5 s is killed.
func (p *serverProc) stop() {
	p.dial.close()
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// cellSample is one measurement of one throughput cell.
type cellSample struct {
	rep          int     // the repetition it was taken in
	rtps         float64 // round trips per second
	cpuPer100k   float64 // server CPU seconds (user+sys) per 100,000 round trips
	allocsPerMsg float64 // server mallocs per echoed message
	bytesPerMsg  float64 // server bytes allocated per echoed message
	p50, p99     float64 // round-trip latency, microseconds
	serverBusy   float64 // share of the measured time the server was on CPU
	clientPer100 float64 // load generator CPU seconds per 100,000 round trips
	wireIn       float64 // bytes the load generator wrote per message, frame headers included
	wireOut      float64 // bytes it read per echoed message, frame headers included
}

// results holds every sample of a run.
type results struct {
	cells    map[string]map[cellKey][]cellSample // by library
	many     map[string][]manySample
	idleZ    map[string][]manySample // idle memory after a compressed echo
	idleZCon map[string]int          // connections of those
	bcast    map[string]map[broadcastKey][]broadcastSample
	errs     map[string][]string // failures, by library
	source   string              // what ours was built from (oursSource)
}

// cellKey names a throughput cell: random binary messages, or JSON text
// (the compression cells).
type cellKey struct {
	size, conns int
	json        bool
}

func (k cellKey) String() string {
	if k.json {
		return fmt.Sprintf("%s JSON × %d", sizeName(k.size), k.conns)
	}
	return fmt.Sprintf("%s × %d", sizeName(k.size), k.conns)
}

// idleEcho is the message each idle connection echoes once: 16 random
// bytes, or a 1 KiB JSON text, compressed where that was negotiated.
var (
	idleEcho  = cellKey{size: 16}
	idleEchoZ = cellKey{size: 1 << 10, json: true}
)

// deflateKeys are the compression cells of cfg.
func deflateKeys(cfg config) []cellKey {
	var keys []cellKey
	for _, size := range cfg.deflateSizes {
		for _, n := range cfg.deflateConnCounts {
			keys = append(keys, cellKey{size, n, true})
		}
	}
	return keys
}

// deflateCellLibs are the servers of the compression cells: the
// compressing ones, then ours without compression as the reference.
func deflateCellLibs(cfg config) []string {
	if len(cfg.deflateLibs) == 0 {
		return nil
	}
	return append(slices.Clone(cfg.deflateLibs), "ours")
}

func sizeName(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// rotate returns libs starting at offset i, so that no library always
// runs first or right after the same one.
func rotate(libs []string, i int) []string {
	if len(libs) == 0 {
		return nil
	}
	i %= len(libs)
	return append(slices.Clone(libs[i:]), libs[:i]...)
}

func runDriver(cfg config) error {
	if err := pinToCPU(clientCPU); err != nil {
		return fmt.Errorf("pinning the load generator: %w", err)
	}
	runtime.GOMAXPROCS(1)
	began := time.Now()
	r := results{
		cells:    map[string]map[cellKey][]cellSample{},
		many:     map[string][]manySample{},
		idleZ:    map[string][]manySample{},
		idleZCon: map[string]int{},
		errs:     map[string][]string{},
		bcast:    map[string]map[broadcastKey][]broadcastSample{},
		// Read when the run starts, just after go run built it: the work
		// tree may change while the run goes on.
		source: oursSource(),
	}
	for _, l := range append(slices.Clone(cfg.libs), deflateCellLibs(cfg)...) {
		r.cells[l] = map[cellKey][]cellSample{}
		r.bcast[l] = map[broadcastKey][]broadcastSample{}
	}
	var keys []cellKey
	for _, size := range cfg.sizes {
		for _, n := range cfg.connCounts {
			keys = append(keys, cellKey{size, n, false})
		}
	}
	zkeys := deflateKeys(cfg)
	if cfg.only != nil {
		match := func(k cellKey) bool { return !cfg.only.MatchString(k.String()) }
		keys = slices.DeleteFunc(keys, match)
		zkeys = slices.DeleteFunc(zkeys, match)
	}
	wanted := func(what string) bool { return cfg.only == nil || cfg.only.MatchString(what) }
	bkeys := slices.DeleteFunc(broadcastKeys(cfg), func(k broadcastKey) bool { return !wanted(k.String()) })
	zlibs := deflateCellLibs(cfg)
	fail := func(lib, what string, err error) {
		msg := fmt.Sprintf("%s: %v", what, err)
		r.errs[lib] = append(r.errs[lib], msg)
		fmt.Fprintf(os.Stderr, "  %-8s FAILED %s\n", lib, msg)
	}
	for rep := range cfg.reps {
		for ki, k := range append(slices.Clone(keys), zkeys...) {
			fmt.Fprintf(os.Stderr, "rep %d/%d  %s\n", rep+1, cfg.reps, k)
			libs := cfg.libs
			if k.json {
				libs = zlibs
			}
			for _, lib := range rotate(libs, rep+ki) {
				p, err := startServer(lib, k.String())
				if err != nil {
					return err
				}
				s, err := runCell(p, k, deflateMode(lib), cfg)
				p.stop()
				if err != nil {
					fail(lib, k.String(), err)
					continue
				}
				s.rep = rep
				r.cells[lib][k] = append(r.cells[lib][k], s)
				fmt.Fprintf(os.Stderr, "  %-17s %7.0f rt/s  cpu %6.3f s/100k (busy %3.0f%%, client %6.3f)  %5.2f allocs %6.0f B/msg  p50 %7.1f µs  p99 %7.1f µs  wire %.0f/%.0f B\n",
					lib, s.rtps, s.cpuPer100k, s.serverBusy*100, s.clientPer100, s.allocsPerMsg, s.bytesPerMsg, s.p50, s.p99, s.wireIn, s.wireOut)
			}
		}
		manyLibs, zManyLibs := cfg.libs, zlibs
		if !wanted("idle/close storm") {
			manyLibs = nil
		}
		if !wanted("idle with compression") {
			zManyLibs = nil
		}
		if len(manyLibs) > 0 {
			fmt.Fprintf(os.Stderr, "rep %d/%d  %d idle connections, then the close storm\n", rep+1, cfg.reps, cfg.manyConns)
		}
		for _, lib := range rotate(manyLibs, rep) {
			p, err := startServer(lib, "storm")
			if err != nil {
				return err
			}
			s, err := runMany(p, cfg.manyConns, idleEcho, compressNone, true)
			p.stop()
			if err != nil {
				fail(lib, "idle/close storm", err)
				continue
			}
			s.rep = rep
			r.many[lib] = append(r.many[lib], s)
			fmt.Fprintf(os.Stderr, "  %-8s rss %6.0f B/conn  heap+stack %6.0f B/conn (stack %4.0f)  storm %.3f s (cpu: server %.3f s, load %.3f s; server allocs %.1f, %.0f B per conn)  %v  close errors %d %s\n",
				lib, s.rssPerConn, s.heapPerConn, s.stackPerConn, s.stormSec, s.stormServerCPU, s.stormClientCPU, s.stormAllocs, s.stormBytes, s.outcomes, s.closeErrs, s.closeErrEx)
		}
		if len(zManyLibs) > 0 {
			fmt.Fprintf(os.Stderr, "rep %d/%d  idle connections after one 1 KiB JSON echo, compression on\n", rep+1, cfg.reps)
		}
		for _, lib := range rotate(zManyLibs, rep) {
			n := cfg.manyConns
			if deflateMode(lib) == compressContext {
				n = min(n, cfg.ctxIdleConns)
			}
			p, err := startServer(lib, "idlez")
			if err != nil {
				return err
			}
			s, err := runMany(p, n, idleEchoZ, deflateMode(lib), false)
			p.stop()
			if err != nil {
				fail(lib, "idle with compression", err)
				continue
			}
			r.idleZ[lib] = append(r.idleZ[lib], s)
			r.idleZCon[lib] = n
			fmt.Fprintf(os.Stderr, "  %-17s %5d conns  rss %6.0f B/conn  heap+stack %6.0f B/conn (stack %4.0f)\n", lib, n, s.rssPerConn, s.heapPerConn, s.stackPerConn)
		}
		if rep < cfg.broadcastReps {
			if err := runBroadcastCells(cfg, &r, rep, bkeys, fail); err != nil {
				return err
			}
		}
	}
	if end := oursSource(); end != r.source {
		r.source += "; the library changed during the run, to " + end
	}
	report := formatReport(cfg, r, time.Since(began))
	fmt.Println(report)
	if cfg.readme != "" {
		if err := writeReadme(cfg.readme, report); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote the results into %s\n", cfg.readme)
	}
	return nil
}

const (
	markStart = "<!-- results start -->"
	markEnd   = "<!-- results end -->"
)

// writeReadme replaces what stands between the result markers of path.
func writeReadme(path, report string) error {
	return writeReadmeSection(path, markStart, markEnd, report)
}

// writeReadmeSection replaces what stands between the markers start and
// end of path.
func writeReadmeSection(path, start, end, report string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s section", path, start, end)
	}
	s = s[:i+len(start)] + "\n" + report + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
