package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSmallRun is a whole run, small: three chat processes, 30 clients,
// 20 messages a second for a second, then 30 a second in the same room.
// Everything sent must arrive once, in order, in its window, and be timed.
func TestSmallRun(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs Linux's /proc")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "chat")
	if err := buildChat(ctx, bin, ""); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags(flag.NewFlagSet("load", flag.ContinueOnError), []string{
		"-chat", bin, "-clients", "30", "-rate", "20,30", "-duration", "1s", "-drain", "5s",
		"-join-timeout", "10s", "-settle", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	results, err := run(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	for i, res := range results {
		res.print(io.Discard)
		want := int64(20 + 10*i)
		if res.Window != i || res.Joined != 30 || res.Sent != want || res.Expected != 30*want ||
			res.Delivered != 30*want || !res.Drained || !res.Settled {
			t.Errorf("window %d: members %d, sent %d, expected %d, delivered %d, drained %v, settled %v",
				res.Window, res.Joined, res.Sent, res.Expected, res.Delivered, res.Drained, res.Settled)
		}
		if res.Lost != 0 || res.Duplicates != 0 || res.Reordered != 0 || res.Garbled != 0 || res.Stale != 0 || res.EndedEarly != 0 {
			t.Errorf("window %d: lost %d, duplicated %d, out of order %d, garbled %d, stale %d, ended %d",
				i, res.Lost, res.Duplicates, res.Reordered, res.Garbled, res.Stale, res.EndedEarly)
		}
		if res.Latency.N != 30*want || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
			t.Errorf("window %d: latency %+v", i, res.Latency)
		}
		if len(res.ChatCPU) != 3 || res.Killed != 0 {
			t.Errorf("window %d: chat CPU %v, killed %d", i, res.ChatCPU, res.Killed)
		}
	}
}
