package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/a60656ec/websocket"
)

// result is what one run measured, as written to -out and read back by
// -summarize. Latencies are in milliseconds, CPU in seconds, memory in MiB.
type result struct {
	Label      string  `json:"label"`
	Window     int     `json:"window"` // its number in the run: the room was filled once for them all
	Clients    int     `json:"clients"`
	Rate       float64 `json:"rate"`
	Seconds    float64 `json:"seconds"`
	Size       int     `json:"size"`
	Compress   bool    `json:"compress"`
	Publishers int     `json:"publishers"`
	Serve      bool    `json:"serve"`
	CPUs       int     `json:"cpus"`

	Connected   int     `json:"connected"`
	Joined      int64   `json:"members"` // clients in the room at the window's start
	DialFailed  int     `json:"dial_failed"`
	DialErr     string  `json:"dial_err,omitempty"`
	JoinSecs    float64 `json:"join_s"`
	SettleSecs  float64 `json:"settle_s"`
	Settled     bool    `json:"settled"`
	MaxPubLagMs float64 `json:"max_publish_lag_ms"`
	PubErr      string  `json:"publish_err,omitempty"`

	Sent       int64 `json:"sent"`
	Expected   int64 `json:"expected"`
	Delivered  int64 `json:"delivered"`
	Lost       int64 `json:"lost"` // Gaps + Tail
	Gaps       int64 `json:"gaps"` // missing below a client's highest arrival: dropped
	Tail       int64 `json:"tail"` // missing above it: perhaps still on their way when the wait ended
	Duplicates int64 `json:"duplicates"`
	Reordered  int64 `json:"reordered"`
	Garbled    int64 `json:"garbled"`
	Stale      int64 `json:"stale"`   // an earlier window's messages that arrived in this one
	Late       int64 `json:"late"`    // arrivals after the window ended, until its result was taken
	Drained    bool  `json:"drained"` // everything arrived within the drain wait

	EndedEarly int            `json:"ended_early"` // members whose connection ended during the window
	EndReasons map[string]int `json:"end_reasons,omitempty"`
	Terminated int64          `json:"server_terminated"` // members the chats' broadcasts terminated
	Failed     int64          `json:"server_failed"`
	Warnings   []string       `json:"warnings,omitempty"`

	Latency   latency  `json:"latency_ms"`
	PerSecond []second `json:"per_second"`

	WindowSecs   float64   `json:"window_s"`   // first send to the end of the drain wait
	DeliverySecs float64   `json:"delivery_s"` // first send to last delivery
	PerSec       float64   `json:"deliveries_per_s"`
	ChatCPU      []float64 `json:"chat_cpu_s"`
	ChatRSS      []float64 `json:"chat_peak_rss_mib"`
	LoadCPU      float64   `json:"load_cpu_s"`
	LoadRSS      float64   `json:"load_peak_rss_mib"`
	SoftirqCPU   float64   `json:"softirq_cpu_s"` // the kernel's ksoftirqd threads: network work deferred from the run's system calls
	OthersCPU    float64   `json:"others_cpu_s"`  // the machine's busy time less the run's processes' and ksoftirqd's: other work
	StealCPU     float64   `json:"steal_s"`       // time the virtual CPUs waited for the host
	Killed       int       `json:"killed"`        // chat processes that needed a kill after SIGTERM
}

// latency is a distribution's summary, in milliseconds.
type latency struct {
	N   int64   `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// second is one second of the window: the latencies of the messages sent
// in it, and how many deliveries arrived in it.
type second struct {
	Latency  latency `json:"latency_ms"`
	Received int64   `json:"received"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize returns h's summary.
func summarize(h *histogram) latency {
	return latency{N: h.Count(), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)),
		P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}

// account adds up the clients' tallies: deliveries expected from what the
// publishers sent, and what was lost, seen twice, or out of order; and
// how the connections that ended early ended.
func (r *result) account(clients []*client, sent []int64) {
	r.EndReasons = map[string]int{}
	for _, c := range clients {
		if c == nil {
			continue
		}
		c.mu.Lock()
		for p, t := range c.tallies {
			r.Expected += sent[p]
			gaps, tail := t.missing(sent[p])
			r.Gaps += gaps
			r.Tail += tail
			r.Lost += gaps + tail
			r.Duplicates += t.duplicates
			r.Reordered += t.reordered
		}
		c.mu.Unlock()
		if c.endedEarly.Load() && !c.reported {
			c.reported = true
			r.EndedEarly++
			r.EndReasons[endReason(c.conn.CloseEvent())]++
		}
	}
}

// endReason is a short account of how a connection ended: the code, who
// began, and the last part of the error, without the addresses that would
// make each connection's reason its own.
func endReason(ev websocket.CloseEvent) string {
	if ev.Err == nil {
		return fmt.Sprintf("%d by %v: %q", ev.Code, ev.Initiator, ev.Reason)
	}
	msg := ev.Err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return fmt.Sprintf("%d by %v: %s", ev.Code, ev.Initiator, msg)
}

// finish fills in the latencies and the rates from rec.
func (r *result) finish(rec *recorder) {
	r.Delivered = rec.delivered.Load()
	r.Garbled = rec.garbled.Load()
	r.Stale = rec.stale.Load()
	r.Late = rec.late.Load()
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
