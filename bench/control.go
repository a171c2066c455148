package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
)

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
	RSS        int64   `json:"rss"`      // VmRSS of /proc/self/status, bytes
	PeakRSS    int64   `json:"peak_rss"` // VmHWM of /proc/self/status, bytes
	Goroutines int     `json:"goroutines"`
	Conns      int     `json:"conns"`
	CloseOK    int64   `json:"close_ok"`
	CloseErr   int64   `json:"close_err"`
	CloseErrEx string  `json:"close_err_example,omitempty"`
	// H2Streams and TCPConns, of the HTTP/2 servers only: the requests
	// that arrived over HTTP/2 as CONNECT, and the TCP connections
	// accepted, since the process started.
	H2Streams int64 `json:"h2_streams"`
	TCPConns  int64 `json:"tcp_conns"`
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
		PeakRSS:    peakRSSBytes(),
		Goroutines: runtime.NumGoroutine(),
		Conns:      s.live(),
		CloseOK:    s.closeOK.Load(),
		CloseErr:   s.closeErr.Load(),
		H2Streams:  s.h2Streams.Load(),
		TCPConns:   s.tcpConns.Load(),
	}
	st.CPUUser, st.CPUSys = cpuTime()
	if v, ok := s.closeErrSample.Load().(string); ok {
		st.CloseErrEx = v
	}
	return st
}

// controlHandler serves /stats, /closeall and /broadcast for the driver.
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
	mux.HandleFunc("POST /broadcast", s.serveBroadcast)
	return mux
}
