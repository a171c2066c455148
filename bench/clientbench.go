package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The client comparison: one server (ours), and the same closed-loop echo
// driven by each library's client in turn, each in a process of its own
// (this binary again, with -load), pinned to clientCPU with GOMAXPROCS=1,
// so that the client's own CPU time and allocations can be measured.

// loadOptions is the cell one client process runs.
type loadOptions struct {
	lib         string // the client, one of clientLibs
	addr        string // the echo server
	size, conns int
	warm, dur   time.Duration
	maxRTs      int // cap on the round trips of each phase, over all connections
}

// warmRTs is how many round trips every connection of a client process
// makes before the measured phase, however long the warm-up.
const warmRTs = 3

// loadStats is what a client process reports of its measured phase.
type loadStats struct {
	RoundTrips int64   `json:"round_trips"`
	Seconds    float64 `json:"seconds"`
	CPU        float64 `json:"cpu"`         // user+sys seconds, getrusage(RUSAGE_SELF)
	Mallocs    uint64  `json:"mallocs"`     // runtime.MemStats deltas
	TotalAlloc uint64  `json:"total_alloc"` // bytes
	NumGC      uint32  `json:"num_gc"`
}

// runLoad is the client process's work: it dials o.conns connections,
// runs the warm-up, writes "ready" to out, waits for a line on in, runs
// the measured phase, writes its loadStats as one line of JSON, and closes
// the connections. With profileDir set, it writes a CPU profile of the
// measured phase there.
func runLoad(o loadOptions, in io.Reader, out io.Writer, profileDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	conns := make([]echoConn, o.conns)
	for i := range conns {
		c, err := dialEcho(ctx, o.lib, o.addr, o.size)
		if err != nil {
			cancel()
			closeEchoConns(conns[:i])
			return fmt.Errorf("%s: dial: %w", o.lib, err)
		}
		conns[i] = c
	}
	cancel()
	defer closeEchoConns(conns)

	var (
		warmStop, stop atomic.Bool
		ready, done    sync.WaitGroup
		start          = make(chan struct{})
		counts         = make([]int, o.conns)
		failed         atomic.Value
		perConn        = max(1, o.maxRTs/o.conns)
	)
	ready.Add(o.conns)
	done.Add(o.conns)
	for i, c := range conns {
		go func() {
			defer done.Done()
			next, _ := messages(cellKey{size: o.size, conns: o.conns}, i)
			// A few round trips whatever the time, so that no connection
			// meets the measured phase cold (a busy machine can leave one
			// without a turn in a short warm-up); then the rest of the
			// warm-up.
			var never atomic.Bool
			k, err := c.run(next, 0, min(warmRTs, perConn), &never)
			if err == nil {
				var more int
				more, err = c.run(next, k, perConn, &warmStop)
				k += more
			}
			ready.Done()
			<-start
			if err == nil {
				counts[i], err = c.run(next, k, perConn, &stop) // every echo differs
			}
			if err != nil {
				failed.CompareAndSwap(nil, fmt.Errorf("%s: connection %d: %w", o.lib, i, err))
			}
		}()
	}
	time.Sleep(o.warm)
	warmStop.Store(true)
	ready.Wait()
	if err, _ := failed.Load().(error); err != nil {
		stop.Store(true)
		close(start)
		done.Wait()
		return err
	}
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	if _, err := bufio.NewReader(in).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for the start: %w", err)
	}
	if profileDir != "" {
		f, err := os.CreateTemp(profileDir, "load-"+os.Getenv("BENCH_WHAT")+"-*.pprof")
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cu0, cs0 := cpuTime()
	t0 := time.Now()
	close(start)
	time.Sleep(o.dur)
	stop.Store(true)
	done.Wait()
	elapsed := time.Since(t0)
	cu1, cs1 := cpuTime()
	runtime.ReadMemStats(&m1)
	if profileDir != "" {
		pprof.StopCPUProfile()
	}
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	st := loadStats{
		Seconds:    elapsed.Seconds(),
		CPU:        cu1 + cs1 - cu0 - cs0,
		Mallocs:    m1.Mallocs - m0.Mallocs,
		TotalAlloc: m1.TotalAlloc - m0.TotalAlloc,
		NumGC:      m1.NumGC - m0.NumGC,
	}
	for _, n := range counts {
		st.RoundTrips += int64(n)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

// closeEchoConns closes connections concurrently.
func closeEchoConns(conns []echoConn) {
	var wg sync.WaitGroup
	for _, c := range conns {
		if c != nil {
			wg.Go(c.close)
		}
	}
	wg.Wait()
}

// loadProc is one client process, seen from the driver.
type loadProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startLoad starts this binary as a client process for o, on clientCPU
// with GOMAXPROCS=1, and waits until its warm-up is done.
func startLoad(o loadOptions, what string) (*loadProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-load", "-lib", o.lib, "-cpu", fmt.Sprint(clientCPU),
		"-addr", o.addr, "-size", fmt.Sprint(o.size), "-load-conns", fmt.Sprint(o.conns),
		"-warm", o.warm.String(), "-dur", o.dur.String(), "-max-rts", fmt.Sprint(o.maxRTs))
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "BENCH_WHAT="+profileName(what))
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
	l := &loadProc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	// The process bounds its own life (see main), so these reads end.
	line, err := l.out.ReadString('\n')
	if err == nil && line != "ready\n" {
		err = fmt.Errorf("said %q", line)
	}
	if err != nil {
		l.stop()
		return nil, fmt.Errorf("the %s client: %v", o.lib, err)
	}
	return l, nil
}

// measure starts the measured phase and returns what the process reports.
func (l *loadProc) measure() (loadStats, error) {
	var st loadStats
	if _, err := io.WriteString(l.stdin, "go\n"); err != nil {
		return st, err
	}
	line, err := l.out.ReadString('\n')
	if err != nil {
		return st, fmt.Errorf("the client process ended without its figures")
	}
	err = json.Unmarshal([]byte(line), &st)
	return st, err
}

func (l *loadProc) stop() {
	_ = l.stdin.Close()
	done := make(chan struct{})
	go func() { _ = l.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = l.cmd.Process.Kill()
		<-done
	}
}

// profileName makes a measurement's name fit a file name.
func profileName(what string) string {
	return strings.NewReplacer(" ", "", "×", "x", "/", "-").Replace(what)
}

// clientSample is one measurement of one client in one cell.
type clientSample struct {
	rep           int
	rtps          float64 // round trips per second
	clientPer100k float64 // client CPU seconds per 100,000 round trips
	serverPer100k float64 // the server's, over the same phase
	allocsPerMsg  float64 // client mallocs per round trip
	bytesPerMsg   float64 // client bytes allocated per round trip
	gcs           uint32  // client GC cycles in the measured phase
}

// runClientCell measures lib's client in one cell, against a fresh ours
// server.
func runClientCell(lib string, key cellKey, cfg config) (clientSample, error) {
	var s clientSample
	what := "client " + lib + " " + key.String()
	p, err := startServer("ours", what)
	if err != nil {
		return s, err
	}
	defer p.stop()
	l, err := startLoad(loadOptions{
		lib: lib, addr: p.ws, size: key.size, conns: key.conns,
		warm: cfg.warm, dur: cfg.dur, maxRTs: cfg.maxRTs,
	}, what)
	if err != nil {
		return s, err
	}
	defer l.stop()
	before, err := p.stats(false)
	if err != nil {
		return s, err
	}
	st, err := l.measure()
	if err != nil {
		return s, err
	}
	after, err := p.stats(false)
	if err != nil {
		return s, err
	}
	if st.RoundTrips == 0 {
		return s, fmt.Errorf("no round trip in the measured phase")
	}
	n := float64(st.RoundTrips)
	s.rtps = n / st.Seconds
	s.clientPer100k = st.CPU / n * 1e5
	s.serverPer100k = (after.CPUUser + after.CPUSys - before.CPUUser - before.CPUSys) / n * 1e5
	s.allocsPerMsg = float64(st.Mallocs) / n
	s.bytesPerMsg = float64(st.TotalAlloc) / n
	s.gcs = st.NumGC
	return s, nil
}

// clientResults holds every sample of a client comparison.
type clientResults struct {
	cells  map[string]map[cellKey][]clientSample // by client
	errs   map[string][]string
	source string
}

// runClientDriver runs the client comparison: every cell of cfg, each
// client of cfg.clientLibs in turn, round robin within a repetition.
//
// The driver itself is not pinned (the processes it starts would inherit
// its CPU set, and the server could not move to its own CPU); it only
// waits while a cell is measured.
func runClientDriver(cfg config) error {
	runtime.GOMAXPROCS(1)
	began := time.Now()
	r := clientResults{
		cells:  map[string]map[cellKey][]clientSample{},
		errs:   map[string][]string{},
		source: oursSource(),
	}
	for _, l := range cfg.clientLibs {
		r.cells[l] = map[cellKey][]clientSample{}
	}
	keys := throughputKeys(cfg)
	for rep := range cfg.reps {
		for ki, k := range keys {
			fmt.Fprintf(os.Stderr, "rep %d/%d  clients, %s\n", rep+1, cfg.reps, k)
			for _, lib := range rotate(cfg.clientLibs, rep+ki) {
				s, err := runClientCell(lib, k, cfg)
				if err != nil {
					msg := fmt.Sprintf("%s: %v", k, err)
					r.errs[lib] = append(r.errs[lib], msg)
					fmt.Fprintf(os.Stderr, "  %-8s FAILED %s\n", lib, msg)
					continue
				}
				s.rep = rep
				r.cells[lib][k] = append(r.cells[lib][k], s)
				fmt.Fprintf(os.Stderr, "  %-8s %7.0f rt/s  client cpu %6.3f s/100k  server cpu %6.3f s/100k  %5.2f allocs %6.0f B/msg  %d GCs\n",
					lib, s.rtps, s.clientPer100k, s.serverPer100k, s.allocsPerMsg, s.bytesPerMsg, s.gcs)
			}
		}
	}
	if end := oursSource(); end != r.source {
		r.source += "; the library changed during the run, to " + end
	}
	report := formatClientReport(cfg, r, time.Since(began))
	fmt.Println(report)
	if cfg.readme != "" {
		if err := writeReadmeSection(cfg.readme, clientMarkStart, clientMarkEnd, report); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote the results into %s\n", cfg.readme)
	}
	return nil
}

// throughputKeys are the throughput cells of cfg, without compression,
// filtered by cfg.only.
func throughputKeys(cfg config) []cellKey {
	var keys []cellKey
	for _, size := range cfg.sizes {
		for _, n := range cfg.connCounts {
			keys = append(keys, cellKey{size, n, false})
		}
	}
	if cfg.only != nil {
		keys = slices.DeleteFunc(keys, func(k cellKey) bool { return !cfg.only.MatchString(k.String()) })
	}
	return keys
}

const (
	clientMarkStart = "<!-- client results start -->"
	clientMarkEnd   = "<!-- client results end -->"
)

// clientMetric is one figure of the client tables.
type clientMetric struct {
	title  string
	higher bool    // higher is better
	zero   float64 // values below this print as zero
	get    func(clientSample) float64
	format func(float64) string
}

var clientMetrics = []clientMetric{
	{"Round trips per second (higher is better)", true, 0, func(s clientSample) float64 { return s.rtps }, fmtCount},
	{"Client CPU seconds per 100k round trips (lower is better)", false, 0, func(s clientSample) float64 { return s.clientPer100k }, fmt3},
	// The server is the same for every client, so its CPU per round trip
	// tells how fast the machine ran during the cell.
	{"Client CPU per round trip relative to the server's (lower is better)", false, 0, func(s clientSample) float64 { return s.clientPer100k / s.serverPer100k }, fmt3},
	{"Client allocations per message (lower is better)", false, 0.005, func(s clientSample) float64 { return s.allocsPerMsg }, func(v float64) string { return fmt.Sprintf("%.2f", v) }},
	{"Client bytes allocated per message (lower is better)", false, 0.5, func(s clientSample) float64 { return s.bytesPerMsg }, fmtBytes},
	{"Server (ours) CPU seconds per 100k round trips, by client (lower is better)", false, 0, func(s clientSample) float64 { return s.serverPer100k }, fmt3},
}

func fmt3(v float64) string { return fmt.Sprintf("%.3f", v) }

// formatClientReport renders a client comparison as Markdown: medians
// over the repetitions, ours against the best peer client and against the
// reference, and client CPU paired within each repetition.
func formatClientReport(cfg config, r clientResults, took time.Duration) string {
	var b strings.Builder
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(&b, "Run of %s (%s, took %s): %s, Linux %s, %d CPUs (%s).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), modeName(cfg)+", -clients", took.Round(time.Second),
		runtime.Version(), strings.TrimSpace(string(kernel)), runtime.NumCPU(), cpuModel())
	fmt.Fprintf(&b, "Ours: %s.\n\n", r.source)
	fmt.Fprintf(&b, "Medians of %d repetitions, clients interleaved round robin; %s measured per cell after %s of warm-up. Server (ours) on CPU %d, client process on CPU %d, each with GOMAXPROCS=1. %s\n\n",
		cfg.reps, cfg.dur, cfg.warm, serverCPU, clientCPU, versions([]string{"gorilla", "coder", "gws"}))
	keys := throughputKeys(cfg)
	libs := cfg.clientLibs
	hasRFC := slices.Contains(libs, "rfc")
	for _, m := range clientMetrics {
		fmt.Fprintf(&b, "**%s**\n\n| |", m.title)
		for _, l := range libs {
			b.WriteString(" " + l + " |")
		}
		b.WriteString(" ours / best peer |")
		if hasRFC {
			b.WriteString(" ours / rfc |")
		}
		b.WriteString("\n|---|")
		for range libs {
			b.WriteString("--:|")
		}
		b.WriteString("--:|")
		if hasRFC {
			b.WriteString("--:|")
		}
		b.WriteString("\n")
		for _, k := range keys {
			vals, peers := map[string]float64{}, map[string]float64{}
			fmt.Fprintf(&b, "| %s |", k)
			for _, l := range libs {
				var xs []float64
				for _, s := range r.cells[l][k] {
					xs = append(xs, m.get(s))
				}
				v := median(xs)
				if v < m.zero {
					v = 0
				}
				vals[l] = v
				if isPeerClient(l) {
					peers[l] = v
				}
				if len(xs) == 0 {
					b.WriteString(" – |")
				} else {
					b.WriteString(" " + m.format(v) + " |")
				}
			}
			fmt.Fprintf(&b, " %s |", ratio(vals["ours"], peers, m.higher))
			if hasRFC {
				fmt.Fprintf(&b, " %s |", ratio(vals["ours"], map[string]float64{"rfc": vals["rfc"]}, m.higher))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	for _, pm := range []struct {
		title string
		get   func(clientSample) float64
	}{
		{"Client CPU per round trip", func(s clientSample) float64 { return s.clientPer100k }},
		{"Client CPU per round trip relative to the server's", func(s clientSample) float64 { return s.clientPer100k / s.serverPer100k }},
	} {
		var t strings.Builder
		rows := 0
		fmt.Fprintf(&t, "**%s, ours against the best peer client (lowest median) within each repetition (lower is better)**\n\n", pm.title)
		t.WriteString("| | best peer | ours / best peer, median | range | repetitions at or below it |\n|---|---|--:|--:|--:|\n")
		for _, k := range keys {
			pr, peer := pairedRatios(cfg.reps, "ours", libs, isPeerClient, func(l string) map[int]float64 {
				m := map[int]float64{}
				for _, s := range r.cells[l][k] {
					m[s.rep] = pm.get(s)
				}
				return m
			})
			if len(pr) == 0 {
				continue
			}
			rows++
			fmt.Fprintf(&t, "| %s | %s | %.2fx | %.2fx–%.2fx | %d of %d |\n", k, peer, median(pr), slices.Min(pr), slices.Max(pr), atOrBelowBest(pr), len(pr))
		}
		if rows > 0 {
			b.WriteString(t.String() + "\n")
		}
	}
	var failed []string
	for _, l := range libs {
		for _, e := range r.errs[l] {
			failed = append(failed, fmt.Sprintf("- %s: %s", l, e))
		}
	}
	if len(failed) > 0 {
		b.WriteString("\nFailures:\n\n" + strings.Join(failed, "\n") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
