package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a60656ec/websocket"
)

// roomName is the one room every client joins.
const roomName = "load"

// dialers returns one Dialer per loopback source address (127.0.0.1,
// 127.0.0.2, ...): past some 28,000 connections to one server address,
// one source address runs out of ephemeral ports. The clients offer
// compression as a browser does, plain "permessage-deflate", which the
// chat answers without context takeover; or offer none.
func dialers(sources int, compress bool) []*websocket.Dialer {
	mode := websocket.CompressionDisabled
	if compress {
		mode = websocket.CompressionContextTakeover
	}
	ds := make([]*websocket.Dialer, max(sources, 1))
	for i := range ds {
		nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i))}}
		ds[i] = &websocket.Dialer{
			NetDialContext:   nd.DialContext,
			Proxy:            func(*http.Request) (*url.URL, error) { return nil, nil },
			HandshakeTimeout: time.Minute, // the joins' backlog slows the handshakes of the last
			Compression:      mode,
		}
	}
	return ds
}

// dialResult is what dialing the clients came to.
type dialResult struct {
	clients  []*client // those connected, by id; nil where the dial failed or was not made
	failed   int
	firstErr error
}

// dialAll connects the clients, client i to process i mod len(procs), and
// starts reading each. Each of cfg.dialers workers dials a client and
// waits for its join to arrive before the next: a join is broadcast to
// every member registered when its turn comes, so a room filled faster
// than its joins are broadcast costs N² deliveries instead of N²/2. No
// dial starts after deadline.
func dialAll(ctx context.Context, cfg *config, procs []*chatProc, room *roomState, deadline time.Time, log io.Writer) dialResult {
	ds := dialers(cfg.sources, cfg.compress)
	res := dialResult{clients: make([]*client, cfg.clients)}
	var mu sync.Mutex
	var dialed atomic.Int64
	ids := make(chan int)
	stop := make(chan struct{})
	defer close(stop)
	go sayProgress(stop, log, func() string {
		return fmt.Sprintf("joined %d, dialed %d of %d", room.joined.Load(), dialed.Load(), cfg.clients)
	})
	var wg sync.WaitGroup
	for range max(cfg.dialers, 1) {
		wg.Go(func() {
			for id := range ids {
				c := newClient(id, room)
				u := procs[id%len(procs)].wsBase + "?" + url.Values{"room": {roomName}, "name": {c.name}}.Encode()
				conn, _, err := ds[id%len(ds)].DialContext(ctx, u, nil)
				dialed.Add(1)
				mu.Lock()
				if err != nil {
					res.failed++
					if res.firstErr == nil {
						res.firstErr = err
					}
				} else {
					c.conn = conn
					res.clients[id] = c
				}
				mu.Unlock()
				if err != nil {
					continue
				}
				c.read(cfg.serve)
				t := time.NewTimer(time.Until(deadline))
				select {
				case <-c.joinedCh:
				case <-conn.Done():
				case <-t.C:
				case <-ctx.Done():
				}
				t.Stop()
			}
		})
	}
	for id := range cfg.clients {
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		ids <- id
	}
	close(ids)
	wg.Wait()
	return res
}

// sayProgress writes what progress returns every few seconds until stop
// is closed: the long steps of a run at 10,000 clients say how far they
// have got.
func sayProgress(stop <-chan struct{}, log io.Writer, progress func() string) {
	start := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			fmt.Fprintf(log, "%s after %v\n", progress(), now.Sub(start).Round(time.Second))
		}
	}
}

// waitCount waits until counter reaches want, or timeout passes, or ctx
// ends, saying how far it got every few seconds; it returns how long it
// waited and whether the count was reached.
func waitCount(ctx context.Context, what string, counter *atomic.Int64, want int64, timeout time.Duration, log io.Writer) (time.Duration, bool) {
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	nextSay := start.Add(5 * time.Second)
	for {
		n := counter.Load()
		if n >= want {
			return time.Since(start), true
		}
		if time.Since(start) >= timeout || ctx.Err() != nil {
			fmt.Fprintf(log, "%s: %d of %d after %v: going on without the rest\n", what, n, want, time.Since(start).Round(time.Millisecond))
			return time.Since(start), false
		}
		if now := time.Now(); now.After(nextSay) {
			fmt.Fprintf(log, "%s: %d of %d after %v\n", what, n, want, now.Sub(start).Round(time.Second))
			nextSay = now.Add(5 * time.Second)
		}
		<-tick.C
	}
}
