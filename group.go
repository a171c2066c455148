package websocket

import (
	"context"
	"sync"
)

// Group tracks connections so that they can all be closed at once, as a
// server that is going away must: http.Server.Shutdown neither closes nor
// waits for hijacked connections. Set Upgrader.Group (or Dialer.Group) and
// every Conn the Upgrader (or Dialer) makes joins the group, leaving it
// when it ends. The zero Group is ready to use. Its methods are safe from
// any goroutine.
type Group struct {
	mu       sync.Mutex
	conns    map[*Conn]struct{}
	draining bool
	code     StatusCode // of the drain, for connections that come late
	reason   string
}

// ShutdownResult counts how the connections of a Group.Shutdown ended.
type ShutdownResult struct {
	// Clean is how many completed the closing handshake.
	Clean int
	// Terminated is how many were dropped: the peer did not answer in
	// time, the context ended first, or the connection failed.
	Terminated int
}

// add makes c a member, unless the group is draining. The caller still owns
// c then and must end it. A member leaves when it ends (Conn.onEnd).
func (g *Group) add(c *Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.draining {
		return false
	}
	if g.conns == nil {
		g.conns = make(map[*Conn]struct{})
	}
	g.conns[c] = struct{}{}
	return true
}

func (g *Group) remove(c *Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, c)
}

// isDraining reports whether Shutdown has been called.
func (g *Group) isDraining() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.draining
}

// Len returns how many connections of the group have not ended.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Shutdown closes every connection of the group with code and reason
// (StatusGoingAway when code is 0; StatusServiceRestart suits a restart).
// The closing handshakes run concurrently, each bounded by its close
// timeout; connections that have not ended when ctx ends are terminated.
// From the first call on, the group accepts no connection: Upgrade answers
// HTTP 503, and Dial fails with ErrShuttingDown. Shutdown returns once every connection has ended, with how
// many closed cleanly and how many were terminated, and ctx's error if it
// ended first. An invalid code or reason returns an error before anything
// is closed.
func (g *Group) Shutdown(ctx context.Context, code StatusCode, reason string) (ShutdownResult, error) {
	if code == 0 {
		code = StatusGoingAway
	}
	if err := checkCloseArgs(code, reason); err != nil {
		return ShutdownResult{}, err
	}
	g.mu.Lock()
	g.draining = true
	g.code, g.reason = code, reason
	conns := make([]*Conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()

	var wg sync.WaitGroup
	for _, c := range conns {
		c.markDrained()
		wg.Go(func() { _ = c.Close(code, reason) })
	}
	// Wait for the ends, not for the Close calls: a connection whose close
	// had already started returns from Close at once.
	ended := make(chan struct{})
	go func() {
		for _, c := range conns {
			<-c.Done()
		}
		close(ended)
	}()
	var err error
	select {
	case <-ended:
	case <-ctx.Done():
		err = ctx.Err()
		for _, c := range conns {
			_ = c.Terminate()
		}
		<-ended
	}
	wg.Wait()
	var res ShutdownResult
	for _, c := range conns {
		<-c.Done()
		if c.CloseEvent().WasClean {
			res.Clean++
		} else {
			res.Terminated++
		}
	}
	return res, err
}

// closeLate closes a connection that was upgraded while the group began to
// drain, the way the drain closes the others.
func (g *Group) closeLate(c *Conn) {
	g.mu.Lock()
	code, reason := g.code, g.reason
	g.mu.Unlock()
	c.markDrained()
	_ = c.Close(code, reason)
}
