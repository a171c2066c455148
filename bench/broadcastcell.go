package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The broadcast cell, driver side: N idle connections to a fresh server,
// then one request that has the server send count messages to all of
// them; every client reads and checks every message. See broadcast.go for
// the server side.

// broadcastKey names a broadcast cell: count messages of size bytes to
// conns connections, with permessage-deflate (no context takeover) or
// without.
type broadcastKey struct {
	size, conns int
	deflate     bool
}

// String is the cell's name for -only and the tables. It says "to", not
// "×", so that the throughput cells' patterns ("KiB × 100") do not match
// it.
func (k broadcastKey) String() string {
	s := fmt.Sprintf("broadcast %s to %d", sizeName(k.size), k.conns)
	if k.deflate {
		s += ", deflate"
	}
	return s
}

// broadcastSample is one measurement of one broadcast cell.
type broadcastSample struct {
	rep int
	// sec runs from the request until the last client had its last
	// message.
	sec float64
	// CPU seconds of the server and of the load generator over the same
	// time, until the server had also answered.
	serverCPU, clientCPU float64
	// What the server allocated, per delivered message (connections ×
	// messages).
	allocsPerMsg, bytesPerMsg float64
	// peakRSS is the server's VmHWM afterwards: its peak over its life,
	// connections and broadcast included.
	peakRSS float64
}

// broadcastKeys are the broadcast cells of cfg: every size to every
// connection count, without compression, then with it when some
// compressing server without context takeover is in the run.
func broadcastKeys(cfg config) []broadcastKey {
	var keys []broadcastKey
	modes := []bool{false}
	if len(broadcastDeflateLibs(cfg)) > 0 {
		modes = append(modes, true)
	}
	for _, deflate := range modes {
		for _, n := range cfg.broadcastConns {
			for _, size := range cfg.broadcastSizes {
				keys = append(keys, broadcastKey{size, n, deflate})
			}
		}
	}
	return keys
}

// broadcastDeflateLibs are the compressing servers of cfg that negotiate
// no context takeover: those that can compress a broadcast message once.
func broadcastDeflateLibs(cfg config) []string {
	var libs []string
	for _, l := range cfg.deflateLibs {
		if deflateMode(l) == compressNoContext {
			libs = append(libs, l)
		}
	}
	return libs
}

// broadcastLibs are the servers of cell k.
func broadcastLibs(cfg config, k broadcastKey) []string {
	if k.deflate {
		return broadcastDeflateLibs(cfg)
	}
	return cfg.libs
}

// receiveBroadcast reads len(want) messages and checks each against want,
// in order: text, and the same bytes. It returns when the last arrived.
func receiveBroadcast(c *wsClient, want [][]byte) (time.Time, error) {
	for i, w := range want {
		got, err := c.readMessage()
		if err != nil {
			return time.Time{}, fmt.Errorf("message %d: %w", i, err)
		}
		if c.msgOp != opText {
			return time.Time{}, fmt.Errorf("message %d came with opcode %d, want text", i, c.msgOp)
		}
		if !bytes.Equal(got, w) {
			return time.Time{}, fmt.Errorf("message %d of %d bytes came as %d different bytes", i, len(w), len(got))
		}
	}
	return time.Now(), nil
}

// broadcast asks the server to send count messages of size bytes to every
// connection, and returns its report once it is done. A dry run sends
// nothing.
func (p *serverProc) broadcast(count, size int, dry bool) (broadcastReport, error) {
	var rep broadcastReport
	cl := http.Client{Timeout: broadcastWait + ioTimeout}
	url := fmt.Sprintf("http://%s/broadcast?count=%d&size=%d", p.ctl, count, size)
	if dry {
		url += "&dry=1"
	}
	resp, err := cl.Post(url, "text/plain", nil)
	if err != nil {
		return rep, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return rep, fmt.Errorf("/broadcast: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	err = json.NewDecoder(resp.Body).Decode(&rep)
	return rep, err
}

// runBroadcast measures one broadcast cell on a fresh server: count
// messages to k.conns connections.
func runBroadcast(p *serverProc, k broadcastKey, count int) (broadcastSample, error) {
	var s broadcastSample
	mode := compressNone
	if k.deflate {
		mode = compressNoContext
	}
	clients, err := dialIdle(p, k.conns, idleEcho, mode)
	if err != nil {
		return s, err
	}
	harnessN, harnessBytes, err := p.broadcastHarness(count, k.size)
	if err != nil {
		for _, c := range clients {
			c.nc.Close()
		}
		return s, err
	}
	defer func() {
		for _, c := range clients {
			c.nc.Close()
		}
	}()
	want := broadcastMessages(count, k.size)
	ends := make([]time.Time, len(clients))
	deadline := time.Now().Add(broadcastWait + ioTimeout)
	var (
		wg     sync.WaitGroup
		failed atomic.Value
	)
	for i, c := range clients {
		_ = c.nc.SetReadDeadline(deadline)
		wg.Go(func() {
			var err error
			if ends[i], err = receiveBroadcast(c, want); err != nil {
				failed.CompareAndSwap(nil, fmt.Errorf("client %d: %w", i, err))
			}
		})
	}
	before, err := p.stats(false)
	if err == nil && before.Conns != k.conns {
		err = fmt.Errorf("server tracks %d connections, want %d", before.Conns, k.conns)
	}
	if err != nil {
		for _, c := range clients {
			c.nc.Close() // ends the readers
		}
		wg.Wait()
		return s, err
	}
	cu0, cs0 := cpuTime()
	t0 := time.Now()
	rep, err := p.broadcast(count, k.size, false)
	if err != nil {
		for _, c := range clients {
			c.nc.Close()
		}
	}
	wg.Wait()
	cu1, cs1 := cpuTime()
	if err != nil {
		return s, err
	}
	if err, _ := failed.Load().(error); err != nil {
		return s, err
	}
	after, err := p.stats(false)
	if err != nil {
		return s, err
	}
	total := int64(k.conns) * int64(count)
	if rep.Err != "" || rep.Conns != k.conns || rep.Delivered != total || rep.Failed != 0 {
		return s, fmt.Errorf("server: %d connections, %d of %d messages delivered, %d failed, error %q", rep.Conns, rep.Delivered, total, rep.Failed, rep.Err)
	}
	s.sec = slices.MaxFunc(ends, time.Time.Compare).Sub(t0).Seconds()
	s.serverCPU = after.CPUUser + after.CPUSys - before.CPUUser - before.CPUSys
	s.clientCPU = cu1 + cs1 - cu0 - cs0
	s.allocsPerMsg = float64(sub(after.Mallocs-before.Mallocs, p.allocN+harnessN)) / float64(total)
	s.bytesPerMsg = float64(sub(after.TotalAlloc-before.TotalAlloc, p.allocBytes+harnessBytes)) / float64(total)
	s.peakRSS = float64(after.PeakRSS)
	return s, nil
}

// runBroadcastCells measures the broadcast cells keys of repetition rep,
// each library on a fresh server, round robin.
func runBroadcastCells(cfg config, r *results, rep int, keys []broadcastKey, fail func(lib, what string, err error)) error {
	for ki, k := range keys {
		fmt.Fprintf(os.Stderr, "rep %d/%d  %s, %d messages\n", rep+1, cfg.reps, k, cfg.broadcastCount)
		for _, lib := range rotate(broadcastLibs(cfg, k), rep+ki) {
			p, err := startServer(lib, "broadcast")
			if err != nil {
				return err
			}
			s, err := runBroadcast(p, k, cfg.broadcastCount)
			p.stop()
			if err != nil {
				fail(lib, k.String(), err)
				continue
			}
			s.rep = rep
			r.bcast[lib][k] = append(r.bcast[lib][k], s)
			fmt.Fprintf(os.Stderr, "  %-17s %8.1f ms  cpu: server %7.1f ms, load %7.1f ms  %5.3f allocs %6.1f B per delivered message  peak rss %6.1f MiB\n",
				lib, s.sec*1e3, s.serverCPU*1e3, s.clientCPU*1e3, s.allocsPerMsg, s.bytesPerMsg, s.peakRSS/(1<<20))
		}
	}
	return nil
}

// broadcastHarness measures what a broadcast request allocates in the
// server besides the library's work (the request, the messages, the list
// of connections, the report): the least of three dry runs.
func (p *serverProc) broadcastHarness(count, size int) (n, bytes uint64, err error) {
	prev, err := p.stats(false)
	for i := 0; i < 3 && err == nil; i++ {
		if _, err = p.broadcast(count, size, true); err != nil {
			break
		}
		var st serverStats
		if st, err = p.stats(false); err == nil {
			dn := sub(st.Mallocs-prev.Mallocs, p.allocN)
			db := sub(st.TotalAlloc-prev.TotalAlloc, p.allocBytes)
			if i == 0 || dn < n {
				n, bytes = dn, db
			}
			prev = st
		}
	}
	return n, bytes, err
}
