// Command bench compares the echo round trips, CPU, allocations, idle
// memory and close storms of this module's WebSocket library against
// gorilla/websocket, coder/websocket, lxzan/gws, gobwas/ws and
// lesismal/nbio. See README.md. Run it from this folder with
//
//	go run .          # the full run, about 11 minutes; rewrites README.md
//	go run . -quick   # about 3 minutes; prints only
//	go run . -clients # the client comparison instead, about 7 minutes
//	                  # (with -quick, 1 to 3 minutes)
//
// The same binary is the echo server: the driver starts it again with
// -serve -lib NAME, once per measurement, pinned to CPU 0 with
// GOMAXPROCS=1, and itself runs the load generator on CPU 1. In the
// client comparison it is also each client, started with -load -lib NAME
// on CPU 1.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/a60656ec/websocket/internal/xconnect"
)

func main() {
	var (
		serve  = flag.Bool("serve", false, "run as an echo server (the driver starts these)")
		lib    = flag.String("lib", "", "with -serve: the library, one of "+strings.Join(defaultLibs, "|")+" or a variant; with -load: the client")
		cpu    = flag.Int("cpu", -1, "with -serve or -load: pin the process to this CPU (-1: do not pin)")
		quick  = flag.Bool("quick", false, "fewer repetitions, shorter cells, 1,000 connections; prints only")
		libs   = flag.String("libs", strings.Join(defaultRun, ","), "libraries to compare, ours first; variants: "+variantList())
		reps   = flag.Int("reps", 0, "repetitions (default 5; 3 with -quick)")
		conns  = flag.Int("conns", 0, "connections for idle memory, the close storm and the larger broadcast, the smaller having a tenth (default 10000; 1000 with -quick)")
		dur    = flag.Duration("dur", 0, "measured time of one throughput cell (default 1.5s; 400ms with -quick)")
		readme = flag.String("readme", "", "file whose results section is rewritten (default README.md, none with -quick; - for none)")
		zlibs  = flag.String("deflate", strings.Join(deflateLibs, ","), "servers with compression on for the compression cells, ours first in each mode; - for none")
	)
	var (
		clients    = flag.Bool("clients", false, "run the client comparison (clients of each library against ours) instead of the server comparison")
		clientList = flag.String("client-libs", strings.Join(clientLibs, ","), "with -clients: the clients to compare, ours first")
		load       = flag.Bool("load", false, "run as a client process (the driver starts these with -clients)")
		addr       = flag.String("addr", "", "with -load: the echo server's address")
		size       = flag.Int("size", 16, "with -load: the message size")
		loadConns  = flag.Int("load-conns", 1, "with -load: the connections")
		warm       = flag.Duration("warm", 0, "with -load: the warm-up")
		maxRTs     = flag.Int("max-rts", 5_000_000, "with -load: the cap on round trips per phase")
	)
	bcastReps := flag.Int("broadcast-reps", 0, "how many of the repetitions, the first ones, run the broadcast cells (default 3)")
	only := flag.String("only", "", "keep only the measurements whose names match this regular expression, such as \"KiB × 100\", \"storm\", \"compression\" or \"broadcast\"")
	flag.Parse()
	if _, err := raiseFileLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: raising RLIMIT_NOFILE:", err)
	}
	if *serve {
		if err := runServer(*lib, *cpu); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		return
	}
	if *load {
		o := loadOptions{lib: *lib, addr: *addr, size: *size, conns: *loadConns, warm: *warm, dur: *dur, maxRTs: *maxRTs}
		if err := runLoadProcess(o, *cpu); err != nil {
			fmt.Fprintln(os.Stderr, "bench client:", err)
			os.Exit(1)
		}
		return
	}
	cfg := defaultConfig(*quick)
	if *reps > 0 {
		cfg.reps = *reps
	}
	if *bcastReps > 0 {
		cfg.broadcastReps = *bcastReps
	}
	if *conns > 0 {
		cfg.manyConns = *conns
		cfg.broadcastConns = []int{*conns, max(1, *conns/10)}
	}
	if *dur > 0 {
		cfg.dur = *dur
	}
	cfg.libs = strings.Split(*libs, ",")
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -only:", err)
			os.Exit(2)
		}
		cfg.only = re
	}
	cfg.deflateLibs = nil
	if *zlibs != "-" && *zlibs != "" {
		cfg.deflateLibs = strings.Split(*zlibs, ",")
	}
	for _, l := range append(cfg.libs, cfg.deflateLibs...) {
		if !knownLib(l) {
			fmt.Fprintf(os.Stderr, "bench: unknown library %q\n", l)
			os.Exit(2)
		}
	}
	cfg.clientLibs = strings.Split(*clientList, ",")
	for _, l := range cfg.clientLibs {
		if *clients && !knownClient(l) {
			fmt.Fprintf(os.Stderr, "bench: unknown client %q\n", l)
			os.Exit(2)
		}
	}
	switch {
	case *readme == "-":
	case *readme != "":
		cfg.readme = *readme
	case !*quick:
		cfg.readme = "README.md"
	}
	run := runDriver
	if *clients {
		run = runClientDriver
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// variantList lists every variant -libs takes, with what differs, for
// the flag's help.
func variantList() string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(variants)) {
		fmt.Fprintf(&b, "%s (%s); ", name, variants[name])
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// runServer is the server process: it serves lib's echo server and the
// control endpoints on loopback, prints both addresses on one line, and
// exits when its standard input closes (the driver is done or gone).
func runServer(lib string, cpu int) error {
	if cpu >= 0 {
		if err := pinToCPU(cpu); err != nil {
			return err
		}
	}
	if isH2(lib) && !xconnect.On() {
		return fmt.Errorf("%s needs http2xconnect=1 in GODEBUG as the process starts", lib)
	}
	s, err := startEcho(lib)
	if err != nil {
		return err
	}
	if dir := os.Getenv("BENCH_CPUPROFILE"); dir != "" {
		// A development aid: one CPU profile per server process, named
		// after its library, for `go tool pprof`. A storm measurement's
		// starts with the storm, leaving out the connections' set-up.
		what := os.Getenv("BENCH_WHAT")
		f, err := os.CreateTemp(dir, lib+"-"+what+"-*.pprof")
		if err != nil {
			return err
		}
		defer f.Close()
		start := func() {
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintln(os.Stderr, "cpu profile:", err)
			}
		}
		if what == "storm" {
			s.beforeCloseAll = start
		} else {
			start()
		}
		defer pprof.StopCPUProfile()
	}
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ctl, s.controlHandler())
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "ws=%s stats=%s gomaxprocs=%d\n", s.Addr(), ctl.Addr(), runtime.GOMAXPROCS(0))
	if err := w.Flush(); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	if dir := os.Getenv("BENCH_HEAPPROFILE"); dir != "" {
		// What the process allocated over its life, for -sample_index=alloc_objects.
		if f, err := os.CreateTemp(dir, lib+"-"+os.Getenv("BENCH_WHAT")+"-allocs-*.pprof"); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	return nil
}

// runLoadProcess is a client process of the client comparison: pinned to
// cpu, it runs o with the driver on its standard input and output. It
// bounds its own life, so that a stuck connection fails the cell rather
// than the run.
func runLoadProcess(o loadOptions, cpu int) error {
	if cpu >= 0 {
		if err := pinToCPU(cpu); err != nil {
			return err
		}
	}
	limit := o.warm + o.dur + 3*ioTimeout
	time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "bench client %s: still running after %v\n", o.lib, limit)
		os.Exit(1)
	})
	return runLoad(o, os.Stdin, os.Stdout, os.Getenv("BENCH_CPUPROFILE"))
}
