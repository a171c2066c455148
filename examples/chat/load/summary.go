package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// summarizeFile reads the results -out appended to path and writes, for
// each cell (label, clients and rate), in the order the cells first
// appear, a Markdown table row of the median and range over its runs.
func summarizeFile(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var cells []string
	runs := map[string][]*result{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		r := new(result)
		if err := json.Unmarshal(sc.Bytes(), r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		cell := fmt.Sprintf("%s|%d|%g", r.Label, r.Clients, r.Rate)
		if _, ok := runs[cell]; !ok {
			cells = append(cells, cell)
		}
		runs[cell] = append(runs[cell], r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Fprintln(w, "| cell | runs | clients × msg/s | delivered / expected | missing: gaps + tail | dup + reordered | p50 | p90 | p99 | max | deliveries/s | dropped | CPU s: chats | CPU s: load | CPU s: ksoftirqd, others | window s | peak RSS MiB: chat, load |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, cell := range cells {
		rs := runs[cell]
		col := func(format string, v func(*result) float64) string { return spread(rs, format, v) }
		fmt.Fprintf(w, "| %s | %d | %d × %g | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s, %s |\n",
			orDash(rs[0].Label), len(rs), rs[0].Clients, rs[0].Rate,
			col("%.0f", func(r *result) float64 { return float64(r.Delivered) }),
			col("%.0f", func(r *result) float64 { return float64(r.Expected) }),
			col("%.0f", func(r *result) float64 { return float64(r.Gaps) })+" + "+
				col("%.0f", func(r *result) float64 { return float64(r.Tail) }),
			col("%.0f", func(r *result) float64 { return float64(r.Duplicates + r.Reordered) }),
			col("%.1f ms", func(r *result) float64 { return r.Latency.P50 }),
			col("%.1f ms", func(r *result) float64 { return r.Latency.P90 }),
			col("%.1f ms", func(r *result) float64 { return r.Latency.P99 }),
			col("%.0f ms", func(r *result) float64 { return r.Latency.Max }),
			col("%.0f", func(r *result) float64 { return r.PerSec }),
			col("%.0f", func(r *result) float64 { return float64(r.EndedEarly) }),
			col("%.1f", func(r *result) float64 { return sum(r.ChatCPU) }),
			col("%.1f", func(r *result) float64 { return r.LoadCPU }),
			col("%.1f", func(r *result) float64 { return r.SoftirqCPU })+", "+
				col("%.1f", func(r *result) float64 { return r.OthersCPU }),
			col("%.1f", func(r *result) float64 { return r.WindowSecs }),
			col("%.0f", func(r *result) float64 { return slices.Max(append([]float64{0}, r.ChatRSS...)) }),
			col("%.0f", func(r *result) float64 { return r.LoadRSS }))
	}
	return nil
}

// spread formats the median of v over rs, and its range when the runs
// differ: "12.3 ms (11.0–14.1)".
func spread(rs []*result, format string, v func(*result) float64) string {
	vals := make([]float64, len(rs))
	for i, r := range rs {
		vals[i] = v(r)
	}
	m := median(vals)
	lo, hi := slices.Min(vals), slices.Max(vals)
	out := fmt.Sprintf(format, m)
	if fmt.Sprintf(format, lo) != fmt.Sprintf(format, hi) {
		num := strings.Fields(format)[0]
		out += fmt.Sprintf(" ("+num+"–"+num+")", lo, hi)
	}
	return out
}

// median returns the middle of vals, or the mean of the middle two.
func median(vals []float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vals))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func sum(vs []float64) float64 {
	var t float64
	for _, v := range vs {
		t += v
	}
	return t
}
