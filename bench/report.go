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

// deflateMetrics are the figures of the compression tables.
var deflateMetrics = []metric{
	metrics[1], // server CPU
	metrics[3], // allocations
	metrics[4], // bytes allocated
	{"Bytes on the wire per message, server to client, frame headers included (lower is better)", false, 0, func(s cellSample) float64 { return s.wireOut }, fmtWire},
	{"Bytes on the wire per message, client to server, frame headers included (lower is better)", false, 0, func(s cellSample) float64 { return s.wireIn }, fmtWire},
	metrics[0], // round trips per second
}

func fmtWire(v float64) string {
	if v >= 10<<10 {
		return fmt.Sprintf("%.2f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

// ratioGroup compares one of ours with its peers of the same mode.
type ratioGroup struct {
	ours  string
	peers []string
}

// deflateGroups splits the compressing libraries of cfg by mode.
func deflateGroups(cfg config) []ratioGroup {
	var groups []ratioGroup
	for _, mode := range []compression{compressNoContext, compressContext} {
		var g ratioGroup
		for _, l := range cfg.deflateLibs {
			switch {
			case deflateMode(l) != mode:
			case isOurs(l):
				g.ours = l
			default:
				g.peers = append(g.peers, l)
			}
		}
		if g.ours != "" && len(g.peers) > 0 {
			groups = append(groups, g)
		}
	}
	return groups
}

// formatDeflate renders the compression tables: one per figure, a column
// per server (ours without compression last, as the reference), and a
// ratio column per mode, ours against the best peer of that mode.
func formatDeflate(b *strings.Builder, cfg config, r results) {
	libs := deflateCellLibs(cfg)
	if len(libs) == 0 {
		return
	}
	groups := deflateGroups(cfg)
	name := func(l string) string {
		if l == "ours" {
			return "ours, off"
		}
		return l
	}
	head := func() {
		b.WriteString("| |")
		for _, l := range libs {
			b.WriteString(" " + name(l) + " |")
		}
		for _, g := range groups {
			b.WriteString(" " + g.ours + " / best peer |")
		}
		b.WriteString("\n|---|")
		for range len(libs) + len(groups) {
			b.WriteString("--:|")
		}
		b.WriteString("\n")
	}
	row := func(label string, get func(lib string) float64, format func(float64) string, higher, ratios bool) {
		vals := map[string]float64{}
		fmt.Fprintf(b, "| %s |", label)
		for _, l := range libs {
			v := get(l)
			vals[l] = v
			if math.IsNaN(v) {
				b.WriteString(" – |") // failed (listed below) or left out by -only
			} else {
				b.WriteString(" " + format(v) + " |")
			}
		}
		for _, g := range groups {
			peers := map[string]float64{}
			for _, p := range g.peers {
				peers[p] = vals[p]
			}
			if ratios {
				fmt.Fprintf(b, " %s |", ratio(vals[g.ours], peers, higher))
			} else {
				b.WriteString(" |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n### Compression: permessage-deflate\n\n")
	fmt.Fprintf(b, "JSON text messages, the load generator compressing and inflating with compress/flate at BestSpeed. Servers ending in -deflate negotiate no context takeover on either side, -deflate-ctx context takeover on both; \"ours, off\" is ours without compression on the same messages. Ratios compare ours with the best peer of the same mode.\n\n")
	for _, m := range deflateMetrics {
		fmt.Fprintf(b, "**%s**\n\n", m.title)
		head()
		for _, k := range deflateKeys(cfg) {
			row(k.String(), func(l string) float64 {
				var xs []float64
				for _, s := range r.cells[l][k] {
					xs = append(xs, m.get(s))
				}
				v := median(xs)
				if v < m.zero {
					v = 0
				}
				return v
			}, m.format, m.higher, true)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "**Idle connections after one 1 KiB JSON echo each, compression on, GC run (lower is better)**\n\n")
	head()
	row("connections", func(l string) float64 {
		if n, ok := r.idleZCon[l]; ok {
			return float64(n)
		}
		return math.NaN()
	}, func(v float64) string { return fmt.Sprintf("%.0f", v) }, false, false)
	for _, rr := range []struct {
		name string
		get  func(manySample) float64
	}{
		{"RSS per connection", func(s manySample) float64 { return s.rssPerConn }},
		{"heap + stacks per connection", func(s manySample) float64 { return s.heapPerConn }},
	} {
		row(rr.name, func(l string) float64 {
			var xs []float64
			for _, s := range r.idleZ[l] {
				xs = append(xs, rr.get(s))
			}
			return median(xs)
		}, func(v float64) string { return fmt.Sprintf("%.1f KiB", v/1024) }, false, true)
	}
	var zs, offs []float64
	for _, s := range r.idleZ["ours-deflate"] {
		zs = append(zs, s.rssPerConn)
	}
	for _, s := range r.idleZ["ours"] {
		offs = append(offs, s.rssPerConn)
	}
	if len(zs) > 0 && len(offs) > 0 {
		fmt.Fprintf(b, "\nIdle RSS per connection, ours-deflate against ours with compression off (same echo): %.2fx.\n", median(zs)/median(offs))
	}
}

// pairedRatios divides ours by the best peer (of those keep accepts),
// repetition by repetition, so that what moves the whole machine between
// repetitions cancels out. The best peer is the one with the lowest
// median: taking the lowest peer of each repetition instead would favour
// the peers by picking their luckiest draws. get returns a library's
// values by repetition.
func pairedRatios(reps int, ours string, libs []string, keep func(string) bool, get func(string) map[int]float64) ([]float64, string) {
	o := get(ours)
	best, bestMedian := "", math.Inf(1)
	var bestVals map[int]float64
	for _, l := range libs {
		if isOurs(l) || !keep(l) {
			continue
		}
		vals := get(l)
		var xs []float64
		for _, v := range vals {
			xs = append(xs, v)
		}
		if m := median(xs); m < bestMedian || (m == bestMedian && l < best) {
			best, bestMedian, bestVals = l, m, vals
		}
	}
	var out []float64
	for rep := range reps {
		v, ok := o[rep]
		pv, pok := bestVals[rep]
		if ok && pok && pv > 0 {
			out = append(out, v/pv)
		}
	}
	return out, best
}

// describePaired renders paired ratios: their median, their range, and in
// how many repetitions ours was at or below the best peer.
func describePaired(pr []float64) string {
	return fmt.Sprintf("median %.2fx, from %.2fx to %.2fx, at or below it in %d of %d",
		median(pr), slices.Min(pr), slices.Max(pr), atOrBelowBest(pr), len(pr))
}

// atOrBelowBest counts the paired ratios at or below 1.
func atOrBelowBest(pr []float64) int {
	n := 0
	for _, v := range pr {
		if v <= 1 {
			n++
		}
	}
	return n
}

// formatPairedCPU adds the table the CPU target is judged by: server CPU
// per round trip, ours against the best peer of the same repetition.
func formatPairedCPU(b *strings.Builder, cfg config, r results, keys []cellKey) {
	rows := 0
	var t strings.Builder
	t.WriteString("**Server CPU per round trip, ours against the best peer (lowest median) within each repetition (lower is better)**\n\n")
	t.WriteString("| | best peer | ours / best peer, median | range | repetitions at or below it |\n|---|---|--:|--:|--:|\n")
	for _, k := range keys {
		pr, peer := pairedRatios(cfg.reps, "ours", cfg.libs, func(string) bool { return true }, func(l string) map[int]float64 {
			m := map[int]float64{}
			for _, s := range r.cells[l][k] {
				m[s.rep] = s.cpuPer100k
			}
			return m
		})
		if len(pr) == 0 {
			continue
		}
		rows++
		fmt.Fprintf(&t, "| %s | %s | %.2fx | %.2fx–%.2fx | %d of %d |\n", k, peer, median(pr), slices.Min(pr), slices.Max(pr), atOrBelowBest(pr), len(pr))
	}
	if rows > 0 {
		b.WriteString(t.String() + "\n")
	}
}

// formatVariantPairs adds, for each variant of ours in the run (such as
// ours-serve or ours-stats), its server CPU per round trip against ours
// within each repetition, relative to the load generator's, as the other
// CPU figures: what the variant costs, with the machine's drift between
// repetitions cancelled out.
func formatVariantPairs(b *strings.Builder, cfg config, r results, keys []cellKey) {
	relative := func(lib string, k cellKey) map[int]float64 {
		m := map[int]float64{}
		for _, s := range r.cells[lib][k] {
			if s.clientPer100 > 0 {
				m[s.rep] = s.cpuPer100k / s.clientPer100
			}
		}
		return m
	}
	for _, v := range cfg.libs {
		if v == "ours" || !isOurs(v) || !slices.Contains(cfg.libs, "ours") {
			continue
		}
		var t strings.Builder
		rows := 0
		fmt.Fprintf(&t, "**Server CPU per round trip relative to the load generator's, %s against ours within each repetition (lower is better)**\n\n", v)
		t.WriteString("| | median | range | repetitions at or below ours |\n|---|--:|--:|--:|\n")
		for _, k := range keys {
			ov, vv := relative("ours", k), relative(v, k)
			var pr []float64
			for rep := range cfg.reps {
				if o, ok := ov[rep]; ok && o > 0 {
					if x, ok := vv[rep]; ok {
						pr = append(pr, x/o)
					}
				}
			}
			if len(pr) == 0 {
				continue
			}
			rows++
			fmt.Fprintf(&t, "| %s | %.2fx | %.2fx–%.2fx | %d of %d |\n", k, median(pr), slices.Min(pr), slices.Max(pr), atOrBelowBest(pr), len(pr))
		}
		if rows > 0 {
			b.WriteString(t.String() + "\n")
		}
	}
}
