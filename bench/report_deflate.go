package main

// The compression tables.

import (
	"fmt"
	"math"
	"strings"
)

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
