// Command ported ports upstream example programs to this WebSocket
// package with no edits but those MIGRATING.md lists, to prove the guide:
// gorilla/websocket's chat and coder/websocket's echo. It fetches each
// example through the Go module proxy, applies its rules, and writes a
// module that builds against the repository.
//
//	go run . -out /tmp/chat chat
//	go run . -out /tmp/echo echo
//	go run . -rules
//
// -rules prints the rules as the Markdown table README.md holds.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	out := flag.String("out", "", "directory to write the ported example to")
	printRules := flag.Bool("rules", false, "print every example's rules as a Markdown table")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run . -out DIR %s\n       go run . -rules\n", strings.Join(exampleNames(), "|"))
		flag.PrintDefaults()
	}
	flag.Parse()
	if *printRules {
		fmt.Print(rulesTable())
		return
	}
	ex, ok := examples[flag.Arg(0)]
	if !ok || flag.NArg() != 1 || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	root, err := repositoryRoot()
	if err == nil {
		err = port(ex, *out, root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ported:", err)
		os.Exit(1)
	}
}

// exampleNames returns the names of the examples, sorted.
func exampleNames() []string {
	names := make([]string, 0, len(examples))
	for name := range examples {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
