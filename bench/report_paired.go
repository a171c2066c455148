package main

// Paired ratios: ours against a peer, or a variant against ours, within
// each repetition, so that the machine's drift between repetitions cancels.

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

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

// variantRatios divides variant v's figure by ours's, repetition by
// repetition, for cell k: get picks the figure of a sample, and reports
// false where it has none.
func variantRatios(cfg config, r results, v string, k cellKey, get func(cellSample) (float64, bool)) []float64 {
	byRep := func(lib string) map[int]float64 {
		m := map[int]float64{}
		for _, s := range r.cells[lib][k] {
			if x, ok := get(s); ok {
				m[s.rep] = x
			}
		}
		return m
	}
	ov, vv := byRep("ours"), byRep(v)
	var pr []float64
	for rep := range cfg.reps {
		if o, ok := ov[rep]; ok && o > 0 {
			if x, ok := vv[rep]; ok {
				pr = append(pr, x/o)
			}
		}
	}
	return pr
}

// relativeCPU is a sample's server CPU per round trip relative to the
// load generator's.
func relativeCPU(s cellSample) (float64, bool) {
	return s.cpuPer100k / s.clientPer100, s.clientPer100 > 0
}

// formatVariantPairs adds, for each variant of ours in the run (such as
// ours-serve or ours-stats), its server CPU per round trip against ours
// within each repetition, relative to the load generator's, as the other
// CPU figures: what the variant costs, with the machine's drift between
// repetitions cancelled out. The HTTP/2 variants get a table of their
// own (formatH2Price).
func formatVariantPairs(b *strings.Builder, cfg config, r results, keys []cellKey) {
	for _, v := range cfg.libs {
		if v == "ours" || !isOurs(v) || isH2(v) || !slices.Contains(cfg.libs, "ours") {
			continue
		}
		var t strings.Builder
		rows := 0
		fmt.Fprintf(&t, "**Server CPU per round trip relative to the load generator's, %s against ours within each repetition (lower is better)**\n\n", v)
		t.WriteString("| | median | range | repetitions at or below ours |\n|---|--:|--:|--:|\n")
		for _, k := range keys {
			pr := variantRatios(cfg, r, v, k, relativeCPU)
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

// formatH2Price adds, for each HTTP/2 variant in the run, what HTTP/2
// costs the server over ours's HTTP/1.1, within each repetition: server
// CPU per round trip relative to the load generator's, as for the other
// variants, and also alone, since here the load generator's own work
// differs (its frames go through x/net's HTTP/2 client), which the
// relative figure divides out with the machine's drift; and the
// allocations per round trip of both.
func formatH2Price(b *strings.Builder, cfg config, r results, keys []cellKey) {
	if !slices.Contains(cfg.libs, "ours") {
		return
	}
	span := func(pr []float64) string {
		return fmt.Sprintf("%.2fx | %.2fx–%.2fx", median(pr), slices.Min(pr), slices.Max(pr))
	}
	for _, v := range cfg.libs {
		if !isH2(v) {
			continue
		}
		var t strings.Builder
		rows := 0
		fmt.Fprintf(&t, "**The price of HTTP/2: %s against ours (HTTP/1.1) within each repetition, medians and ranges of the ratios (lower is better)**\n\n", v)
		t.WriteString("| | server CPU per round trip relative to the load generator's | range | server CPU per round trip | range | load generator CPU per round trip | range | server allocations per round trip, ours → " + v + " (range) | bytes allocated, ours → " + v + " |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, k := range keys {
			rel := variantRatios(cfg, r, v, k, relativeCPU)
			abs := variantRatios(cfg, r, v, k, func(s cellSample) (float64, bool) { return s.cpuPer100k, true })
			load := variantRatios(cfg, r, v, k, func(s cellSample) (float64, bool) { return s.clientPer100, true })
			if len(rel) == 0 || len(abs) == 0 || len(load) == 0 {
				continue
			}
			rows++
			var oa, va, ob, vb []float64
			for _, s := range r.cells["ours"][k] {
				oa, ob = append(oa, s.allocsPerMsg), append(ob, s.bytesPerMsg)
			}
			for _, s := range r.cells[v][k] {
				va, vb = append(va, s.allocsPerMsg), append(vb, s.bytesPerMsg)
			}
			fmt.Fprintf(&t, "| %s | %s | %s | %s | %.2f → %.2f (%.2f–%.2f) | %s → %s |\n", k, span(rel), span(abs), span(load),
				median(oa), median(va), slices.Min(va), slices.Max(va), fmtBytes(median(ob)), fmtBytes(median(vb)))
		}
		if rows > 0 {
			b.WriteString(t.String() + "\n")
		}
	}
}
