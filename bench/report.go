package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// metric is one figure of the throughput table.
type metric struct {
	title  string
	higher bool    // higher is better
	zero   float64 // values below this print as zero and count as zero
	get    func(cellSample) float64
	format func(float64) string
}

var metrics = []metric{
	{"Round trips per second (higher is better)", true, 0, func(s cellSample) float64 { return s.rtps }, fmtCount},
	{"Server CPU seconds per 100k round trips (lower is better)", false, 0, func(s cellSample) float64 { return s.cpuPer100k }, func(v float64) string { return fmt.Sprintf("%.3f", v) }},
	// The load generator is the same program for every server, so its own
	// CPU per round trip tells how fast the machine ran during the cell:
	// dividing by it takes out most of what moves between processes.
	{"Server CPU per round trip relative to the load generator's (lower is better)", false, 0, func(s cellSample) float64 { return s.cpuPer100k / s.clientPer100 }, func(v float64) string { return fmt.Sprintf("%.3f", v) }},
	{"Server allocations per message (lower is better)", false, 0.005, func(s cellSample) float64 { return s.allocsPerMsg }, func(v float64) string { return fmt.Sprintf("%.2f", v) }},
	{"Server bytes allocated per message (lower is better)", false, 0.5, func(s cellSample) float64 { return s.bytesPerMsg }, fmtBytes},
	{"p50 round-trip latency, µs (lower is better)", false, 0, func(s cellSample) float64 { return s.p50 }, func(v float64) string { return fmt.Sprintf("%.1f", v) }},
	{"p99 round-trip latency, µs (lower is better)", false, 0, func(s cellSample) float64 { return s.p99 }, func(v float64) string { return fmt.Sprintf("%.1f", v) }},
}

func fmtCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtBytes(v float64) string {
	switch {
	case v >= 10<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	case v >= 10:
		return fmt.Sprintf("%.0f B", v)
	case v == 0:
		return "0 B"
	}
	return fmt.Sprintf("%.1f B", v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// ratio formats ours against the best peer: "1.23x (gws)".
func ratio(ours float64, peers map[string]float64, higher bool) string {
	best, name := math.NaN(), ""
	for lib, v := range peers {
		if math.IsNaN(v) {
			continue
		}
		if name == "" || (higher && v > best) || (!higher && v < best) || (v == best && lib < name) {
			best, name = v, lib
		}
	}
	switch {
	case name == "" || math.IsNaN(ours):
		return "n/a"
	case best == 0 && ours == 0:
		return "1.00x (" + name + ")"
	case best == 0:
		return "n/a (" + name + ": 0)"
	}
	return fmt.Sprintf("%.2fx (%s)", ours/best, name)
}

// isOurs reports whether lib is this module's library or a variant of it.
func isOurs(lib string) bool { return lib == "ours" || strings.HasPrefix(lib, "ours-") }

// formatReport renders a run as Markdown: medians over the repetitions,
// ours against the best peer of the same run.
func formatReport(cfg config, r results, took time.Duration) string {
	var b strings.Builder
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(&b, "Run of %s (%s, took %s): %s, Linux %s, %d CPUs (%s).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), modeName(cfg), took.Round(time.Second),
		runtime.Version(), strings.TrimSpace(string(kernel)), runtime.NumCPU(), cpuModel())
	fmt.Fprintf(&b, "Ours: %s.\n\n", r.source)
	fmt.Fprintf(&b, "Medians of %d repetitions, libraries interleaved round robin; %s measured per throughput cell after %s of warm-up; %d connections for idle memory and the close storm. Server on CPU %d with GOMAXPROCS=1, load generator on CPU %d. %s\n\n",
		cfg.reps, cfg.dur, cfg.warm, cfg.manyConns, serverCPU, clientCPU, versions(cfg.libs))
	var keys []cellKey
	for _, size := range cfg.sizes {
		for _, n := range cfg.connCounts {
			keys = append(keys, cellKey{size, n, false})
		}
	}
	head := func(last string) {
		b.WriteString("| |")
		for _, l := range cfg.libs {
			b.WriteString(" " + l + " |")
		}
		b.WriteString(" " + last + " |\n|---|")
		for range cfg.libs {
			b.WriteString("--:|")
		}
		b.WriteString("--:|\n")
	}
	for _, m := range metrics {
		fmt.Fprintf(&b, "**%s**\n\n", m.title)
		head("ours / best peer")
		for _, k := range keys {
			vals := map[string]float64{}
			fmt.Fprintf(&b, "| %s |", k)
			for _, l := range cfg.libs {
				var xs []float64
				for _, s := range r.cells[l][k] {
					xs = append(xs, m.get(s))
				}
				v := median(xs)
				if v < m.zero {
					v = 0
				}
				vals[l] = v
				if math.IsNaN(v) {
					b.WriteString(" – |") // failed (listed below) or left out by -only
				} else {
					b.WriteString(" " + m.format(v) + " |")
				}
			}
			peers := map[string]float64{}
			for l, v := range vals {
				if !isOurs(l) {
					peers[l] = v
				}
			}
			fmt.Fprintf(&b, " %s |\n", ratio(vals["ours"], peers, m.higher))
		}
		b.WriteString("\n")
	}
	formatPairedCPU(&b, cfg, r, keys)
	formatVariantPairs(&b, cfg, r, keys)
	formatH2Price(&b, cfg, r, keys)

	fmt.Fprintf(&b, "**Idle connections: %d, after one 16 B echo each, GC run (lower is better)**\n\n", cfg.manyConns)
	head("ours / best peer")
	rows := []struct {
		name string
		get  func(manySample) float64
	}{
		{"RSS per connection", func(s manySample) float64 { return s.rssPerConn }},
		{"heap + stacks per connection", func(s manySample) float64 { return s.heapPerConn }},
	}
	var rssVals, rssPeers map[string]float64
	for _, row := range rows {
		vals, peers := map[string]float64{}, map[string]float64{}
		if rssVals == nil {
			rssVals, rssPeers = vals, peers
		}
		fmt.Fprintf(&b, "| %s |", row.name)
		for _, l := range cfg.libs {
			var xs []float64
			for _, s := range r.many[l] {
				xs = append(xs, row.get(s))
			}
			v := median(xs)
			vals[l] = v
			if !isOurs(l) {
				peers[l] = v
			}
			if math.IsNaN(v) {
				b.WriteString(" – |") // failed (listed below) or left out by -only
			} else {
				fmt.Fprintf(&b, " %.1f KiB |", v/1024)
			}
		}
		fmt.Fprintf(&b, " %s |\n", ratio(vals["ours"], peers, false))
	}
	for _, l := range cfg.libs {
		if isOurs(l) && l != "ours" {
			fmt.Fprintf(&b, "\nRSS per idle connection, %s against the best peer: %s.\n", l, ratio(rssVals[l], rssPeers, false))
		}
	}
	b.WriteString("\n")

	fmt.Fprintf(&b, "**Close storm: the server closes %d connections at once**\n\n", cfg.manyConns)
	b.WriteString("| | waits for the peer's close frame | time until every TCP connection ended | clean (worst repetition) | other endings (all repetitions) | server close calls that failed |\n|---|---|--:|--:|---|--:|\n")
	waitTimes := map[string]float64{}
	for _, l := range cfg.libs {
		var ts []float64
		worst := -1
		var other [numOutcomes]int
		var errs int64
		ex := ""
		for _, s := range r.many[l] {
			ts = append(ts, s.stormSec)
			if worst < 0 || s.outcomes[outClean] < worst {
				worst = s.outcomes[outClean]
			}
			for o, n := range s.outcomes {
				other[o] += n
			}
			errs += s.closeErrs
			if ex == "" {
				ex = s.closeErrEx
			}
		}
		if len(ts) == 0 {
			fmt.Fprintf(&b, "| %s | %s | – | | | |\n", l, waitsName(l))
			continue
		}
		t := median(ts)
		if waits(l) {
			waitTimes[l] = t
		}
		var others []string
		for o := outClean + 1; o < numOutcomes; o++ {
			if other[o] > 0 {
				others = append(others, fmt.Sprintf("%s %d", outcomeNames[o], other[o]))
			}
		}
		errCell := fmt.Sprint(errs)
		if ex != "" {
			errCell += " (" + strings.ReplaceAll(ex, "|", "/") + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f ms | %d / %d | %s | %s |\n",
			l, waitsName(l), t*1e3, worst, cfg.manyConns, strings.Join(others, ", "), errCell)
	}
	if t, ok := waitTimes["ours"]; ok {
		peers := map[string]float64{}
		for l, v := range waitTimes {
			if !isOurs(l) {
				peers[l] = v
			}
		}
		fmt.Fprintf(&b, "\nClose storm time, ours against the fastest peer that waits for the peer's close frame: %s.\n", ratio(t, peers, false))
		if pr, peer := pairedRatios(cfg.reps, "ours", cfg.libs, waits, func(l string) map[int]float64 {
			m := map[int]float64{}
			for _, s := range r.many[l] {
				m[s.rep] = s.stormSec
			}
			return m
		}); len(pr) > 0 {
			fmt.Fprintf(&b, "The same within each repetition, against %s: %s.\n", peer, describePaired(pr))
		}
		for _, l := range cfg.libs {
			if v, ok := waitTimes[l]; ok && isOurs(l) && l != "ours" {
				fmt.Fprintf(&b, "Close storm time, %s against the same: %s.\n", l, ratio(v, peers, false))
			}
		}
	}
	formatDeflate(&b, cfg, r)
	formatBroadcast(&b, cfg, r)
	var failed []string
	for _, l := range append(slices.Clone(cfg.libs), cfg.deflateLibs...) {
		for _, e := range r.errs[l] {
			failed = append(failed, fmt.Sprintf("- %s: %s", l, e))
		}
	}
	if len(failed) > 0 {
		b.WriteString("\nFailures:\n\n" + strings.Join(failed, "\n") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func modeName(cfg config) string {
	if cfg.quick {
		return "-quick"
	}
	return "full run"
}

// waits reports whether lib's close, as the echo server calls it, waits
// for the peer's close frame before closing TCP. gws's WriteClose does
// not; gorilla, gobwas and nbio leave the wait to the application, and
// these servers do it.
func waits(lib string) bool { return !strings.HasPrefix(lib, "gws") }

func waitsName(lib string) string {
	switch {
	case !waits(lib):
		return "no: WriteClose closes TCP at once"
	case lib == "gorilla" || lib == "gobwas":
		return "yes (the echo loop reads until it)"
	case strings.HasPrefix(lib, "nbio"):
		return "yes (TCP closes when it arrives)"
	}
	return "yes (Close)"
}

// oursSource names what "ours" was built from: the directory the
// replace directive points to and, when it is a git work tree, its commit
// and whether the library's files had uncommitted changes.
func oursSource() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range bi.Deps {
		if dep.Path != "github.com/a60656ec/websocket" || dep.Replace == nil {
			continue
		}
		dir := dep.Replace.Path
		out, err := exec.Command("git", "-C", dir, "log", "-1", "--format=%h %s").Output()
		if err != nil {
			return "the module at " + dir
		}
		desc := "commit " + strings.TrimSpace(string(out))
		dirty, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench").Output()
		if err == nil && len(bytes.TrimSpace(dirty)) > 0 {
			desc += ", with uncommitted changes"
		}
		return desc
	}
	return "unknown"
}

// versions names the module version of each peer.
func versions(libs []string) string {
	paths := map[string]string{
		"gorilla": "github.com/gorilla/websocket",
		"coder":   "github.com/coder/websocket",
		"gws":     "github.com/lxzan/gws",
		"gobwas":  "github.com/gobwas/ws",
		"nbio":    "github.com/lesismal/nbio",
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var out []string
	for _, dep := range bi.Deps {
		for _, l := range libs {
			if paths[l] == dep.Path {
				out = append(out, fmt.Sprintf("%s %s", l, dep.Version))
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "Peers: " + strings.Join(out, ", ") + "."
}
