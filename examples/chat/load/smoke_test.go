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
// 20 messages a second for a second. Everything sent must arrive once, in
// order, and be timed.
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
		"-chat", bin, "-clients", "30", "-rate", "20", "-duration", "1s", "-drain", "5s",
		"-join-timeout", "10s", "-settle", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := run(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res.print(io.Discard)
	if res.Joined != 30 || res.Sent != 20 || res.Expected != 600 || res.Delivered != 600 || !res.Drained {
		t.Errorf("joined %d, sent %d, expected %d, delivered %d, drained %v",
			res.Joined, res.Sent, res.Expected, res.Delivered, res.Drained)
	}
	if res.Lost != 0 || res.Duplicates != 0 || res.Reordered != 0 || res.Garbled != 0 || res.EndedEarly != 0 {
		t.Errorf("lost %d, duplicated %d, out of order %d, garbled %d, ended %d",
			res.Lost, res.Duplicates, res.Reordered, res.Garbled, res.EndedEarly)
	}
	if res.Latency.N != 600 || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
		t.Errorf("latency %+v", res.Latency)
	}
	if len(res.ChatCPU) != 3 || res.Killed != 0 {
		t.Errorf("chat CPU %v, killed %d", res.ChatCPU, res.Killed)
	}
}
