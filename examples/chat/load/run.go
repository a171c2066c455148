package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/a60656ec/websocket"
)

// Bounds of the steps that the flags do not set.
const (
	startTimeout   = 30 * time.Second // a chat process prints its addresses
	stopGrace      = 15 * time.Second // a chat process drains, after SIGTERM, before it is killed
	clientsTimeout = 10 * time.Second // the clients' connections end once terminated
)

// run does one load run: three chat processes, the clients in one room,
// a fixed rate of messages for a fixed time, a bounded wait for the rest.
func run(ctx context.Context, cfg *config, log io.Writer) (*result, error) {
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

	res := &result{Label: cfg.label, Clients: cfg.clients, Rate: cfg.rate, Seconds: cfg.duration.Seconds(),
		Size: cfg.size, Compress: cfg.compress, Publishers: cfg.publishers, Serve: cfg.serve, CPUs: runtime.NumCPU()}
	sendSecs := int(cfg.duration/time.Second) + 1
	rec := newRecorder(sendSecs, sendSecs+int(cfg.drain/time.Second)+1)
	var stopping atomic.Bool

	members, err := gather(ctx, cfg, procs, rec, &stopping, res, log)
	if err != nil {
		return nil, err
	}
	defer terminateAll(members)

	// The measured window: from the first send to the end of the wait for
	// the last deliveries.
	prof, err := startProfiles(cfg, procs)
	if err != nil {
		return nil, err
	}
	cpu0, self0 := chatCPU(procs), selfCPU()
	start := time.Now().Add(10 * time.Millisecond)
	rec.start.Store(start.UnixNano())
	fmt.Fprintf(log, "sending %d messages at %g/s from %d publishers to %d members\n",
		cfg.total(), cfg.rate, cfg.publishers, len(members))
	st := publishAll(ctx, members[:cfg.publishers], cfg.total(), cfg.rate, cfg.size, start)
	sent := make([]int64, cfg.publishers)
	for p := range sent {
		sent[p] = st.sent[p].Load()
	}
	res.Sent = st.total()
	if st.firstErr != nil {
		res.PubErr = st.firstErr.Error()
	}
	res.MaxPubLagMs = ms(time.Duration(st.maxLag.Load()))
	_, res.Drained = waitCount(ctx, "delivered", &rec.delivered, res.Sent*int64(len(members)), cfg.drain, log)
	end := time.Now()
	cpu1, self1 := chatCPU(procs), selfCPU()
	if err := prof.stop(); err != nil {
		fmt.Fprintln(log, "profile:", err)
	}

	res.WindowSecs = end.Sub(start).Seconds()
	if last := rec.lastRcv.Load(); last > 0 {
		res.DeliverySecs = time.Duration(last - start.UnixNano()).Seconds()
	}
	for i := range procs {
		res.ChatCPU = append(res.ChatCPU, (cpu1[i] - cpu0[i]).Seconds())
		rss, _ := procPeakRSS(procs[i].pid())
		res.ChatRSS = append(res.ChatRSS, mib(rss))
	}
	res.LoadCPU = (self1 - self0).Seconds()
	if rss, err := procPeakRSS(os.Getpid()); err == nil {
		res.LoadRSS = mib(rss)
	}

	// The clients go first, all at once: a chat process stopped while
	// its members were connected would drain them, and the others would
	// broadcast each of their leave events to thousands still open.
	stopping.Store(true)
	for _, p := range procs {
		t, f, w := p.dropped()
		res.Terminated += t
		res.Failed += f
		res.Warnings = append(res.Warnings, w...)
	}
	terminateAll(members)
	res.Killed = stopAll(procs, stopGrace)
	stopped = true
	res.account(members, sent)
	res.finish(rec)
	return res, nil
}

// chatBinary returns the chat binary to run, built into tmp unless cfg
// names one, and, for -chatprofile, the environment that tells each
// process where to write its profile.
func chatBinary(ctx context.Context, cfg *config, tmp string) (string, func(int) []string, error) {
	switch {
	case cfg.chatBin != "":
		return cfg.chatBin, nil, nil
	case cfg.chatProfile == "":
		bin := filepath.Join(tmp, "chat")
		return bin, nil, buildChat(ctx, bin, "")
	}
	if err := os.MkdirAll(cfg.chatProfile, 0o755); err != nil {
		return "", nil, err
	}
	for i := range 3 {
		_ = os.Remove(chatProfilePath(cfg.chatProfile, i)) // its appearance tells that it is written
	}
	bin, err := buildProfiledChat(ctx, tmp)
	return bin, func(i int) []string {
		return []string{profileEnv + "=" + chatProfilePath(cfg.chatProfile, i)}
	}, err
}

// gather connects the clients, waits for them to join and for the joins'
// backlog to drain, and returns the room's members: the clients that
// joined and are still connected, the publishers first.
func gather(ctx context.Context, cfg *config, procs []*chatProc, rec *recorder, stopping *atomic.Bool, res *result, log io.Writer) ([]*client, error) {
	began := time.Now()
	dr := dialAll(ctx, cfg, procs, rec, stopping)
	res.DialFailed = dr.failed
	if dr.firstErr != nil {
		res.DialErr = dr.firstErr.Error()
	}
	for _, c := range dr.clients {
		if c != nil {
			res.Connected++
		}
	}
	fmt.Fprintf(log, "connected %d of %d in %v\n", res.Connected, cfg.clients, time.Since(began).Round(time.Millisecond))
	waitCount(ctx, "joined", &rec.joined, int64(res.Connected), cfg.joinTimeout-time.Since(began), log)
	res.JoinSecs = time.Since(began).Seconds()

	// Those not in the room by now are let go; the rest are the members.
	var members []*client
	for _, c := range dr.clients {
		switch {
		case c == nil:
		case c.joined.Load() && !c.endedEarly.Load():
			members = append(members, c)
			res.Joined++
		default:
			_ = c.conn.Terminate()
		}
	}
	for p := range cfg.publishers {
		if dr.clients[p] == nil || len(members) <= p || members[p] != dr.clients[p] {
			terminateAll(members)
			return nil, fmt.Errorf("publisher %d is not in the room (%s)", p, res.DialErr)
		}
	}
	// The sync message comes after every join in each process's order:
	// once all have it, the joins' broadcasts are over.
	settleStart := time.Now()
	if err := members[0].conn.WriteMessage(websocket.TextMessage, []byte(`{"text":"`+syncText+`"}`)); err != nil {
		terminateAll(members)
		return nil, fmt.Errorf("sync message: %w", err)
	}
	_, res.Settled = waitCount(ctx, "synced", &rec.synced, int64(len(members)), cfg.settle, log)
	res.SettleSecs = time.Since(settleStart).Seconds()
	return members, nil
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

// finish fills in the latencies and the rates from rec.
func (r *result) finish(rec *recorder) {
	r.Delivered = rec.delivered.Load()
	r.Garbled = rec.garbled.Load()
	r.Latency = summarize(&rec.all)
	if r.DeliverySecs > 0 {
		r.PerSec = float64(r.Delivered) / r.DeliverySecs
	}
	r.PerSecond = make([]second, len(rec.byRecv))
	for s := range r.PerSecond {
		if s < len(rec.bySent) {
			r.PerSecond[s].Latency = summarize(&rec.bySent[s])
		}
		r.PerSecond[s].Received = rec.byRecv[s].Load()
	}
	// Trailing seconds where nothing happened say nothing.
	for n := len(r.PerSecond); n > 0 && r.PerSecond[n-1].Received == 0 && r.PerSecond[n-1].Latency.N == 0; n-- {
		r.PerSecond = r.PerSecond[:n-1]
	}
}
