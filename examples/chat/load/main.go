// Command load is the chat's load run: it starts three chat processes on
// loopback (the first embeds NATS, the other two join it), connects many
// clients to one room across them with the library's Dial, has publisher
// clients say a fixed number of messages per second, and reports delivery
// latency, loss and duplication, and what the run cost each process in CPU
// and memory.
//
//	cd examples/chat && flock /tmp/measure.lock go run ./load -clients 10000 -rate 6,100 -out runs.jsonl
//	go run ./load summarize runs.jsonl    # medians and ranges, a Markdown table
//
// See the "Load" section of ../README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "summarize" {
		if err := summarizeFile(os.Args[2], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	// An interrupt ends the build and the dials; the rest of the run is
	// bounded by its flags and stops the chat processes on the way out.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	results, err := run(ctx, cfg, os.Stderr)
	for _, res := range results {
		res.print(os.Stdout)
		if cfg.out != "" {
			if err := res.appendJSON(cfg.out); err != nil {
				fmt.Fprintln(os.Stderr, "load:", err)
				os.Exit(1)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}
