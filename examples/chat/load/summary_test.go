package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestSummarizeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.jsonl")
	for _, p99 := range []float64{30, 10, 20} {
		r := &result{Label: "a", Clients: 1000, Rate: 100, Latency: latency{P99: p99}, ChatCPU: []float64{1, 2, 3}}
		if err := r.appendJSON(path); err != nil {
			t.Fatal(err)
		}
	}
	if err := (&result{Label: "b", Clients: 10, Rate: 1}).appendJSON(path); err != nil {
		t.Fatal(err)
	}
	if err := (&result{Label: "a", Clients: 1000, Rate: 50}).appendJSON(path); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := summarizeFile(path, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[2], "| a | 3 | 1000 × 100 |") ||
		!strings.HasPrefix(lines[3], "| b | 1 |") || !strings.HasPrefix(lines[4], "| a | 1 | 1000 × 50 |") {
		t.Fatalf("summary:\n%s", out.String())
	}
	if !strings.Contains(lines[2], "| 20.0 ms (10.0–30.0) |") || !strings.Contains(lines[2], "| 6.0 |") {
		t.Errorf("row a: %s", lines[2])
	}
}
