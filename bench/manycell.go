package main

// The many-connection measurements: idle memory, then the close storm.

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// manySample is one measurement of idle memory and the close storm.
type manySample struct {
	rep          int     // the repetition it was taken in
	rssPerConn   float64 // bytes of RSS per idle connection
	heapPerConn  float64 // bytes of heap in use plus stacks per idle connection
	stackPerConn float64 // of which stacks
	stormSec     float64 // seconds until every connection ended
	// CPU seconds the storm took in the server (until every close call
	// returned) and in the load generator (until every client saw its end).
	stormServerCPU, stormClientCPU float64
	// What the server allocated in the storm, per connection.
	stormAllocs, stormBytes float64
	outcomes                [numOutcomes]int
	closeErrs               int64 // close calls that returned an error in the server
	closeErrEx              string
}

// sourceIP spreads many connections over loopback source addresses
// 127.0.0.2 to 127.0.0.9, so that ephemeral ports do not run short.
func sourceIP(i int) net.IP { return net.IPv4(127, 0, 0, byte(2+i%8)) }

// idleSettle is how long connections stay quiet before their idle
// memory is read.
const idleSettle = 3 * time.Second

// runMany measures the RSS of idle connections, then, with storm, the
// close storm, on one fresh server. Each connection first echoes one
// message of key's kind (its size and payload; conns is ignored), with
// compression offered in mode. Without storm the clients just drop their
// connections.
func runMany(p *serverProc, n int, key cellKey, mode compression, storm bool) (manySample, error) {
	var s manySample
	base, err := p.stats(true)
	if err != nil {
		return s, err
	}
	clients, err := dialIdle(p, n, key, mode)
	if err != nil {
		return s, err
	}
	// Idle means quiet for a while: a library may give back what a
	// connection held for its traffic once it has gone quiet (ours gives
	// back a context-takeover compressor after one to two seconds).
	time.Sleep(idleSettle)
	idle, err := p.stats(true)
	if err != nil {
		return s, err
	}
	if idle.Conns != n {
		return s, fmt.Errorf("server tracks %d connections, want %d", idle.Conns, n)
	}
	s.rssPerConn = float64(idle.RSS-base.RSS) / float64(n)
	s.heapPerConn = float64(int64(idle.HeapInuse+idle.StackInuse)-int64(base.HeapInuse+base.StackInuse)) / float64(n)
	s.stackPerConn = float64(int64(idle.StackInuse)-int64(base.StackInuse)) / float64(n)
	if !storm {
		for _, c := range clients {
			c.nc.Close()
		}
		return s, nil
	}

	// The close storm: every client waits for its close frame; then the
	// server closes them all at once.
	outcomes := make([]closeOutcome, n)
	ends := make([]time.Time, n)
	deadline := time.Now().Add(stormTimeout)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { outcomes[i], ends[i] = c.answerClose(deadline) })
	}
	before, err := p.stats(false)
	if err != nil {
		return s, err
	}
	cu0, cs0 := cpuTime()
	t0 := time.Now()
	if err := p.closeAll(); err != nil {
		return s, err
	}
	wg.Wait()
	cu1, cs1 := cpuTime()
	s.stormClientCPU = cu1 + cs1 - cu0 - cs0
	last := t0
	for i := range n {
		s.outcomes[outcomes[i]]++
		if ends[i].After(last) {
			last = ends[i]
		}
	}
	s.stormSec = last.Sub(t0).Seconds()
	// The server counts a close as done when its close call returns,
	// which may come after the client saw EOF.
	var after serverStats
	for range 1000 {
		if after, err = p.stats(false); err != nil {
			return s, err
		}
		if after.CloseOK+after.CloseErr >= int64(n) || after.Conns == 0 {
			break
		}
		runtime.Gosched()
	}
	s.closeErrs, s.closeErrEx = after.CloseErr, after.CloseErrEx
	s.stormServerCPU = after.CPUUser + after.CPUSys - before.CPUUser - before.CPUSys
	s.stormAllocs = float64(after.Mallocs-before.Mallocs) / float64(n)
	s.stormBytes = float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
	return s, nil
}

// dialIdle opens n connections to p's server, from loopback source
// addresses spread by sourceIP, 64 at a time, each offering compression in
// mode and echoing one message of key's kind, so that the server has
// registered it. On an error it closes those it opened.
func dialIdle(p *serverProc, n int, key cellKey, mode compression) ([]*wsClient, error) {
	clients := make([]*wsClient, n)
	var (
		next   atomic.Int64
		failed atomic.Value
		wg     sync.WaitGroup
	)
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() != nil {
					return
				}
				c, err := p.dial.dial(p.ws, sourceIP(i), 4096, ioTimeout, mode)
				if err == nil {
					next, op := messages(key, i)
					_ = c.nc.SetDeadline(time.Now().Add(ioTimeout))
					err = c.roundTrip(op, next(0))
					_ = c.nc.SetDeadline(time.Time{})
					if err != nil {
						c.nc.Close()
					}
				}
				if err != nil {
					failed.CompareAndSwap(nil, fmt.Errorf("connection %d: %w", i, err))
					return
				}
				clients[i] = c
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		for _, c := range clients {
			if c != nil {
				c.nc.Close()
			}
		}
		return nil, err
	}
	return clients, nil
}
