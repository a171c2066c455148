package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Bounds of the steps that the flags do not set.
const (
	startTimeout   = 30 * time.Second // a chat process prints its addresses
	stopGrace      = 15 * time.Second // a chat process drains, after SIGTERM, before it is killed
	clientsTimeout = 10 * time.Second // the clients' connections end once terminated
)

// run does one load run: three chat processes, the clients in one room,
// then for each rate a measured window, a fixed rate of messages for a
// fixed time and a bounded wait for the rest. It returns a result per
// window.
func run(ctx context.Context, cfg *config, log io.Writer) ([]*result, error) {
	limit, err := raiseFileLimit()
	if err != nil {
		return nil, err
	}
	if need := uint64(cfg.clients) + 256; limit < need {
		return nil, fmt.Errorf("open-file limit %d: %d clients need about %d", limit, cfg.clients, need)
	}
	tmp, err := os.MkdirTemp("", "chatload")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin, envFor, err := chatBinary(ctx, cfg, tmp)
	if err != nil {
		return nil, err
	}
	procs, err := startChats(bin, envFor, startTimeout)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			stopAll(procs, stopGrace)
		}
	}()
	prof := newProfiler(cfg.profile, procs)

	base := result{Label: cfg.label, Clients: cfg.clients, Seconds: cfg.duration.Seconds(), Size: cfg.size,
		Compress: cfg.compress, Publishers: cfg.publishers, Serve: cfg.serve, CPUs: runtime.NumCPU()}
	room := &roomState{pubs: cfg.publishers}
	if cfg.profileJoin {
		if err := prof.start("join"); err != nil {
			return nil, err
		}
	}
	clients := gather(ctx, cfg, procs, room, &base, log)
	if err := prof.stop(); err != nil {
		fmt.Fprintln(log, "profile:", err)
	}
	defer terminateAll(clients)

	var results []*result
	for k, rate := range cfg.rates {
		res, err := measure(ctx, cfg, k, rate, procs, room, clients, prof, base, log)
		if err != nil {
			return results, err
		}
		results = append(results, res)
	}

	// The clients go first, all at once: a chat process stopped while
	// its members were connected would drain them, and the others would
	// broadcast each of their leave events to thousands still open.
	room.stopping.Store(true)
	terminateAll(clients)
	killed := stopAll(procs, stopGrace)
	stopped = true
	for _, r := range results {
		r.Killed = killed
	}
	return results, nil
}

// chatBinary returns the chat binary to run, built into tmp unless cfg
// names one, and, for -profile, the environment that tells each process
// where to write its profiles.
func chatBinary(ctx context.Context, cfg *config, tmp string) (string, func(int) []string, error) {
	switch {
	case cfg.chatBin != "":
		return cfg.chatBin, nil, nil
	case cfg.profile == "":
		bin := filepath.Join(tmp, "chat")
		return bin, nil, buildChat(ctx, bin, "")
	}
	if err := os.MkdirAll(cfg.profile, 0o755); err != nil {
		return "", nil, err
	}
	bin, err := buildProfiledChat(ctx, tmp)
	return bin, func(i int) []string {
		return []string{profileEnv + "=" + chatProfilePath(cfg.profile, i)}
	}, err
}

// gather connects the clients and waits for them to join. It returns the
// clients that joined and are connected; the others are let go.
func gather(ctx context.Context, cfg *config, procs []*chatProc, room *roomState, base *result, log io.Writer) []*client {
	began := time.Now()
	dr := dialAll(ctx, cfg, procs, room, began.Add(cfg.joinTimeout), log)
	base.DialFailed = dr.failed
	if dr.firstErr != nil {
		base.DialErr = dr.firstErr.Error()
	}
	var members []*client
	for _, c := range dr.clients {
		switch {
		case c == nil:
			continue
		case c.joined.Load() && !c.endedEarly.Load():
			members = append(members, c)
		default:
			_ = c.conn.Terminate()
		}
		base.Connected++
	}
	base.JoinSecs = time.Since(began).Seconds()
	fmt.Fprintf(log, "connected %d of %d, %d in the room, in %v\n",
		base.Connected, cfg.clients, len(members), time.Since(began).Round(time.Millisecond))
	return members
}

// terminateAll ends the clients' connections and waits, within
// clientsTimeout, for them to have ended.
func terminateAll(clients []*client) {
	for _, c := range clients {
		_ = c.conn.Terminate()
	}
	deadline := time.After(clientsTimeout)
	for _, c := range clients {
		select {
		case <-c.conn.Done():
		case <-deadline:
			return
		}
	}
}

// chatCPU returns each process's CPU time so far.
func chatCPU(procs []*chatProc) []time.Duration {
	out := make([]time.Duration, len(procs))
	for i, p := range procs {
		out[i], _ = procCPU(p.pid())
	}
	return out
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
