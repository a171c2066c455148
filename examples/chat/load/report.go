package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// print writes the run's report for a reader.
func (r *result) print(w io.Writer) {
	comp := "off"
	if r.Compress {
		comp = "on"
	}
	read := "a goroutine each"
	if r.Serve {
		read = "Serve"
	}
	fmt.Fprintf(w, "\n%s, window %d: %d clients, %g msg/s for %gs, %d-byte texts, compression %s, %d publishers, clients read with %s, %d CPUs\n",
		orDash(r.Label), r.Window, r.Clients, r.Rate, r.Seconds, r.Size, comp, r.Publishers, read, r.CPUs)
	fmt.Fprintf(w, "clients    connected %d (dial failures %d%s) in %.1fs; in the room %d; sync %.1fs (all synced: %v)\n",
		r.Connected, r.DialFailed, orEmpty("; first: ", r.DialErr), r.JoinSecs, r.Joined, r.SettleSecs, r.Settled)
	fmt.Fprintf(w, "messages   sent %d (publishers at most %.1f ms late%s)\n", r.Sent, r.MaxPubLagMs, orEmpty("; error: ", r.PubErr))
	fmt.Fprintf(w, "deliveries expected %d, received %d, duplicated %d, out of order %d, garbled %d, stale %d, late %d; all in: %v\n",
		r.Expected, r.Delivered, r.Duplicates, r.Reordered, r.Garbled, r.Stale, r.Late, r.Drained)
	fmt.Fprintf(w, "missing    %d: %d in gaps (dropped: later ones arrived), %d after a client's last arrival (in flight, or dropped, when the wait ended)\n",
		r.Lost, r.Gaps, r.Tail)
	fmt.Fprintf(w, "latency    p50 %s  p90 %s  p99 %s  max %s\n",
		fmtMs(r.Latency.P50), fmtMs(r.Latency.P90), fmtMs(r.Latency.P99), fmtMs(r.Latency.Max))
	fmt.Fprintf(w, "rate       %.0f deliveries/s (first send to last delivery, %.1fs; window %.1fs)\n",
		r.PerSec, r.DeliverySecs, r.WindowSecs)
	fmt.Fprintf(w, "dropped    members whose connection ended in the window: %d; the chats' broadcasts terminated %d, failed %d\n",
		r.EndedEarly, r.Terminated, r.Failed)
	for _, k := range sortedKeys(r.EndReasons) {
		fmt.Fprintf(w, "           %6d  %s\n", r.EndReasons[k], k)
	}
	for _, line := range r.Warnings {
		fmt.Fprintf(w, "chat log   %s\n", line)
	}
	var chatCPU float64
	for _, c := range r.ChatCPU {
		chatCPU += c
	}
	fmt.Fprintf(w, "cpu        chats %s = %.1fs, load %.1fs, over a %.1fs window (%.0f%% of %d CPUs)\n",
		joinFloats(r.ChatCPU, "%.1fs"), chatCPU, r.LoadCPU, r.WindowSecs,
		100*(chatCPU+r.LoadCPU)/(r.WindowSecs*float64(r.CPUs)), r.CPUs)
	fmt.Fprintf(w, "machine    ksoftirqd %.1fs, others %.1fs (busy time of neither), steal %.1fs\n", r.SoftirqCPU, r.OthersCPU, r.StealCPU)
	fmt.Fprintf(w, "peak rss   chats %s MiB, load %.0f MiB; killed after SIGTERM: %d\n",
		joinFloats(r.ChatRSS, "%.0f"), r.LoadRSS, r.Killed)
	fmt.Fprintf(w, "per second (latency of the messages sent in it; deliveries received in it)\n")
	fmt.Fprintf(w, "    s     sent-in  p50        p99        max        received\n")
	for s, sec := range r.PerSecond {
		fmt.Fprintf(w, "  %3d  %10d  %-9s  %-9s  %-9s  %8d\n", s, sec.Latency.N,
			fmtMs(sec.Latency.P50), fmtMs(sec.Latency.P99), fmtMs(sec.Latency.Max), sec.Received)
	}
}

// appendJSON appends the result as one JSON line to the file at path.
func (r *result) appendJSON(path string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(f).Encode(r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fmtMs formats milliseconds with a precision that suits their size.
func fmtMs(v float64) string {
	switch {
	case v >= 10_000:
		return fmt.Sprintf("%.1fs", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fms", v)
}

func joinFloats(vs []float64, format string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf(format, v)
	}
	return strings.Join(parts, " + ")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
