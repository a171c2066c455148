package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/a60656ec/websocket"
)

// measure runs window k at rate: it syncs, so that what was sent before
// (the joins, an earlier window's backlog) is out of the way or known not
// to be, then sends rate messages a second for cfg.duration and waits up
// to cfg.drain for the rest to arrive.
func measure(ctx context.Context, cfg *config, k int, rate float64, procs []*chatProc, room *roomState,
	clients []*client, prof *profiler, base result, log io.Writer) (*result, error) {
	res := base
	res.Window, res.Rate = k, rate
	sendSecs := int(cfg.duration/time.Second) + 1
	rec := newRecorder(k, sendSecs, sendSecs+int(cfg.drain/time.Second)+1)
	room.cur.Store(rec)

	// The members are the clients still connected; the publishers, the
	// first clients, must be among them.
	members := alive(clients)
	for p := range cfg.publishers {
		if p >= len(clients) || clients[p].id != p || clients[p].endedEarly.Load() {
			return nil, fmt.Errorf("window %d: publisher %d is not in the room", k, p)
		}
	}
	res.Joined = int64(len(members))
	settleStart := time.Now()
	sync := []byte(`{"text":"` + syncText(k) + `"}`)
	if err := clients[0].conn.WriteMessage(websocket.TextMessage, sync); err != nil {
		return nil, fmt.Errorf("window %d: sync message: %w", k, err)
	}
	_, res.Settled = waitCount(ctx, "synced", &rec.synced, int64(len(members)), cfg.settle, log)
	res.SettleSecs = time.Since(settleStart).Seconds()
	for _, c := range members {
		c.resetTallies()
	}
	terminated0, failed0 := dropped(procs)

	if err := prof.start("w" + strconv.Itoa(k) + "-r" + strconv.FormatFloat(rate, 'g', -1, 64)); err != nil {
		return nil, err
	}
	cpu0, self0 := chatCPU(procs), selfCPU()
	busy0, steal0, _ := machineCPU()
	soft0 := softirqCPU()
	start := time.Now().Add(10 * time.Millisecond)
	rec.start.Store(start.UnixNano())
	fmt.Fprintf(log, "window %d: sending %d messages at %g/s from %d publishers to %d members\n",
		k, cfg.total(rate), rate, cfg.publishers, len(members))
	st := publishAll(ctx, members[:cfg.publishers], k, cfg.total(rate), rate, cfg.size, start)
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
	rec.closed.Store(true) // what arrives from now on is counted late, not delivered
	cpu1, self1 := chatCPU(procs), selfCPU()
	busy1, steal1, _ := machineCPU()
	soft1 := softirqCPU()
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
	res.SoftirqCPU = (soft1 - soft0).Seconds()
	res.OthersCPU = (busy1 - busy0).Seconds() - sum(res.ChatCPU) - res.LoadCPU - res.SoftirqCPU
	res.StealCPU = (steal1 - steal0).Seconds()
	if rss, err := procPeakRSS(os.Getpid()); err == nil {
		res.LoadRSS = mib(rss)
	}
	terminated1, failed1 := dropped(procs)
	res.Terminated, res.Failed = terminated1-terminated0, failed1-failed0
	for _, p := range procs {
		_, _, w := p.dropped()
		res.Warnings = append(res.Warnings, w...)
	}
	res.account(members, sent)
	res.finish(rec)
	return &res, nil
}

// alive returns the clients whose connection has not ended.
func alive(clients []*client) []*client {
	var out []*client
	for _, c := range clients {
		if !c.endedEarly.Load() {
			out = append(out, c)
		}
	}
	return out
}

// dropped returns what the processes' broadcasts have reported so far:
// members terminated by the write timeout, and members whose write failed.
func dropped(procs []*chatProc) (terminated, failed int64) {
	for _, p := range procs {
		t, f, _ := p.dropped()
		terminated += t
		failed += f
	}
	return terminated, failed
}
