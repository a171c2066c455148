package main

// A throughput cell: connections echoing messages of one kind for a
// measured time.

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// jsonSet holds the JSON documents of one size that connections cycle
// through.
type jsonSet struct {
	docs  [jsonVariants][]byte
	seqAt int
}

func newJSONSet(size int) *jsonSet {
	js := &jsonSet{}
	for v := range js.docs {
		js.docs[v], js.seqAt = jsonMessage(size, v)
	}
	return js
}

// messages returns connection i's message source: next(k) is its k-th
// message, in a buffer of its own, and the opcode to send it with. Random
// binary payloads differ by a counter in their first 8 bytes; JSON ones
// cycle through the variants and carry the counter in hex.
func messages(k cellKey, i int) (next func(k int) []byte, op byte) {
	payload := make([]byte, k.size)
	if !k.json {
		for j := range payload {
			payload[j] = byte(rand.Uint32())
		}
		return func(n int) []byte {
			if n > 0 && len(payload) >= 8 {
				binary.LittleEndian.PutUint64(payload, uint64(n))
			}
			return payload
		}, opBinary
	}
	js := jsonSets(k.size)
	return func(n int) []byte {
		copy(payload, js.docs[(i+n)%jsonVariants])
		stampSeq(payload, js.seqAt, uint64(n))
		return payload
	}, opText
}

var (
	jsonMu    sync.Mutex
	jsonCache = map[int]*jsonSet{}
)

// jsonSets returns the JSON documents of size, generated once.
func jsonSets(size int) *jsonSet {
	jsonMu.Lock()
	defer jsonMu.Unlock()
	if js, ok := jsonCache[size]; ok {
		return js
	}
	js := newJSONSet(size)
	jsonCache[size] = js
	return js
}

// runCell measures one throughput cell against a fresh server; the client
// offers compression in mode.
func runCell(p *serverProc, key cellKey, mode compression, cfg config) (cellSample, error) {
	var s cellSample
	size, nconn := key.size, key.conns
	clients := make([]*wsClient, nconn)
	for i := range clients {
		c, err := p.dial.dial(p.ws, nil, max(4096, size+16), ioTimeout, mode)
		if err != nil {
			closeClients(clients[:i])
			return s, fmt.Errorf("dial: %w", err)
		}
		clients[i] = c
	}
	defer closeClients(clients)

	var (
		ready, done sync.WaitGroup
		start       = make(chan struct{})
		deadline    time.Time // set before start is closed
		failed      atomic.Value
		lats        = make([][]int64, nconn)
		wire        = make([][2]int64, nconn) // per connection: sent, received
		perConnMax  = max(1, cfg.maxRTs/nconn)
		warmEnd     = time.Now().Add(cfg.warm)
	)
	ready.Add(nconn)
	done.Add(nconn)
	for i, c := range clients {
		go func() {
			defer done.Done()
			next, op := messages(key, i)
			_ = c.nc.SetDeadline(time.Now().Add(cfg.warm + cfg.dur + 2*ioTimeout))
			var err error
			k := 0
			for ; k < perConnMax && err == nil && time.Now().Before(warmEnd); k++ {
				err = c.roundTrip(op, next(k))
			}
			c.sent, c.recv = 0, 0
			ready.Done()
			<-start
			lat := make([]int64, 0, 1<<12)
			t0 := time.Now()
			for j := 0; j < perConnMax && err == nil && t0.Before(deadline); j++ {
				err = c.roundTrip(op, next(k+j)) // every echo differs
				t1 := time.Now()
				lat = append(lat, int64(t1.Sub(t0)))
				t0 = t1
			}
			if err != nil {
				failed.CompareAndSwap(nil, fmt.Errorf("connection %d: %w", i, err))
			}
			lats[i] = lat
			wire[i] = [2]int64{c.sent, c.recv}
		}()
	}
	ready.Wait()
	if err, _ := failed.Load().(error); err != nil {
		deadline = time.Now()
		close(start)
		done.Wait()
		return s, err
	}
	before, err := p.stats(false)
	if err != nil {
		return s, err
	}
	cu0, cs0 := cpuTime()
	t0 := time.Now()
	deadline = t0.Add(cfg.dur)
	close(start)
	done.Wait()
	elapsed := time.Since(t0)
	cu1, cs1 := cpuTime()
	after, err := p.stats(false)
	if err != nil {
		return s, err
	}
	if err, _ := failed.Load().(error); err != nil {
		return s, err
	}
	if err := checkH2(p.lib, after, nconn); err != nil {
		return s, err
	}
	var all []int64
	for _, l := range lats {
		all = append(all, l...)
	}
	n := float64(len(all))
	slices.Sort(all)
	s.rtps = n / elapsed.Seconds()
	serverCPU := after.CPUUser + after.CPUSys - before.CPUUser - before.CPUSys
	s.cpuPer100k = serverCPU / n * 1e5
	s.serverBusy = serverCPU / elapsed.Seconds()
	s.clientPer100 = (cu1 + cs1 - cu0 - cs0) / n * 1e5
	s.allocsPerMsg = float64(sub(after.Mallocs-before.Mallocs, p.allocN)) / n
	s.bytesPerMsg = float64(sub(after.TotalAlloc-before.TotalAlloc, p.allocBytes)) / n
	var sent, recv int64
	for _, w := range wire {
		sent, recv = sent+w[0], recv+w[1]
	}
	s.wireIn, s.wireOut = float64(sent)/n, float64(recv)/n
	s.p50 = float64(all[len(all)/2]) / 1e3
	s.p99 = float64(all[min(len(all)-1, len(all)*99/100)]) / 1e3
	return s, nil
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// closeClients ends connections with a client-side closing handshake.
func closeClients(clients []*wsClient) {
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != nil {
			wg.Go(func() { _ = c.closeHandshake(ioTimeout) })
		}
	}
	wg.Wait()
}
