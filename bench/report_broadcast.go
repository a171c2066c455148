package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// broadcastMetric is one figure of the broadcast tables.
type broadcastMetric struct {
	title  string
	zero   float64 // values below this print as zero and count as zero
	get    func(broadcastSample) float64
	format func(float64) string
}

var broadcastMetrics = []broadcastMetric{
	{"Time until every client had every message, ms (lower is better)", 0, func(s broadcastSample) float64 { return s.sec * 1e3 }, fmt1},
	{"Server CPU for the whole broadcast, ms (lower is better)", 0, func(s broadcastSample) float64 { return s.serverCPU * 1e3 }, fmt1},
	// As in the throughput cells, the load generator's CPU for the same
	// messages says how fast the machine ran during the cell.
	{"Server CPU relative to the load generator's (lower is better)", 0, func(s broadcastSample) float64 { return s.serverCPU / s.clientCPU }, func(v float64) string { return fmt.Sprintf("%.3f", v) }},
	{"Server allocations per delivered message (lower is better)", 0.0005, func(s broadcastSample) float64 { return s.allocsPerMsg }, func(v float64) string { return fmt.Sprintf("%.3f", v) }},
	{"Server bytes allocated per delivered message (lower is better)", 0.05, func(s broadcastSample) float64 { return s.bytesPerMsg }, fmtBytes},
	{"Server peak RSS, MiB (lower is better)", 0, func(s broadcastSample) float64 { return s.peakRSS / (1 << 20) }, fmt1},
}

func fmt1(v float64) string { return fmt.Sprintf("%.1f", v) }

// broadcastServer is the server of column lib in cell k: lib itself
// without compression, its -deflate server with it ("" when it has none
// in the run).
func broadcastServer(cfg config, k broadcastKey, lib string) string {
	if !k.deflate {
		return lib
	}
	if z := lib + "-deflate"; slices.Contains(broadcastDeflateLibs(cfg), z) {
		return z
	}
	return ""
}

// formatBroadcast renders the broadcast cells: one table per figure, a
// column per library (its -deflate server in the rows with compression),
// ours against the best peer by medians, then server CPU and time paired
// repetition by repetition.
func formatBroadcast(b *strings.Builder, cfg config, r results) {
	keys := broadcastKeys(cfg)
	if cfg.only != nil {
		keys = slices.DeleteFunc(keys, func(k broadcastKey) bool { return !cfg.only.MatchString(k.String()) })
	}
	if len(keys) == 0 || !anyBroadcast(r) {
		return
	}
	fmt.Fprintf(b, "\n### Broadcast\n\n")
	fmt.Fprintf(b, "%d text messages sent by the server to every connection, each library its own way; every client checks every message byte for byte. Medians of %d repetitions. Rows ending in \"deflate\" have permessage-deflate on without context takeover: each column is then that library's -deflate server.\n\n", cfg.broadcastCount, min(cfg.reps, cfg.broadcastReps))
	for _, m := range broadcastMetrics {
		fmt.Fprintf(b, "**%s**\n\n| |", m.title)
		for _, l := range cfg.libs {
			b.WriteString(" " + l + " |")
		}
		b.WriteString(" ours / best peer |\n|---|")
		for range cfg.libs {
			b.WriteString("--:|")
		}
		b.WriteString("--:|\n")
		for _, k := range keys {
			fmt.Fprintf(b, "| %s |", strings.TrimPrefix(k.String(), "broadcast "))
			peers := map[string]float64{}
			ours := math.NaN()
			for _, l := range cfg.libs {
				v := math.NaN()
				if srv := broadcastServer(cfg, k, l); srv != "" {
					var xs []float64
					for _, s := range r.bcast[srv][k] {
						xs = append(xs, m.get(s))
					}
					v = median(xs)
				}
				if v < m.zero {
					v = 0
				}
				switch {
				case l == "ours":
					ours = v
				case !isOurs(l):
					peers[l] = v
				}
				if math.IsNaN(v) {
					b.WriteString(" – |") // failed, left out, or no such server
				} else {
					b.WriteString(" " + m.format(v) + " |")
				}
			}
			fmt.Fprintf(b, " %s |\n", ratio(ours, peers, false))
		}
		b.WriteString("\n")
	}
	formatPairedBroadcast(b, cfg, r, keys)
}

func anyBroadcast(r results) bool {
	for _, byKey := range r.bcast {
		for _, ss := range byKey {
			if len(ss) > 0 {
				return true
			}
		}
	}
	return false
}

// formatPairedBroadcast adds the table the broadcast targets are judged
// by: time and server CPU, ours against the best peer of the same
// repetition.
func formatPairedBroadcast(b *strings.Builder, cfg config, r results, keys []broadcastKey) {
	var t strings.Builder
	rows := 0
	t.WriteString("**Broadcast, ours against the best peer (lowest median) within each repetition (lower is better)**\n\n")
	t.WriteString("| | figure | best peer | ours / best peer, median | range | repetitions at or below it |\n|---|---|---|--:|--:|--:|\n")
	for _, k := range keys {
		var libs []string
		for _, l := range cfg.libs {
			if srv := broadcastServer(cfg, k, l); srv != "" {
				libs = append(libs, srv)
			}
		}
		ours := broadcastServer(cfg, k, "ours")
		for _, fig := range []struct {
			name string
			get  func(broadcastSample) float64
		}{
			{"time", func(s broadcastSample) float64 { return s.sec }},
			{"server CPU", func(s broadcastSample) float64 { return s.serverCPU }},
		} {
			pr, peer := pairedRatios(cfg.reps, ours, libs, func(string) bool { return true }, func(l string) map[int]float64 {
				m := map[int]float64{}
				for _, s := range r.bcast[l][k] {
					m[s.rep] = fig.get(s)
				}
				return m
			})
			if len(pr) == 0 {
				continue
			}
			rows++
			fmt.Fprintf(&t, "| %s | %s | %s | %.2fx | %.2fx–%.2fx | %d of %d |\n",
				strings.TrimPrefix(k.String(), "broadcast "), fig.name, peer, median(pr), slices.Min(pr), slices.Max(pr), atOrBelowBest(pr), len(pr))
		}
	}
	if rows > 0 {
		b.WriteString(t.String() + "\n")
	}
}
