// Package xconnect lets a test binary serve WebSockets over HTTP/2: it
// reruns the binary with http2xconnect=1 in GODEBUG. Tests only.
package xconnect

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// net/http serves extended CONNECT (RFC 8441) only when GODEBUG holds
// http2xconnect=1 as the process starts: it reads the variable once, in
// an init function, so neither os.Setenv nor a //go:debug line (which
// the go command refuses for a setting it does not know) can turn it on.
// A TestMain therefore runs the tests in a child with the setting added:
//
//	if !xconnect.On() {
//		os.Exit(xconnect.Rerun())
//	}

// On reports whether this process serves extended CONNECT.
func On() bool {
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if strings.TrimSpace(kv) == "http2xconnect=1" {
			return true
		}
	}
	return false
}

// Rerun runs this test binary again, with the same arguments
// and http2xconnect=1 added to GODEBUG, and returns its exit code.
func Rerun() int {
	godebug := "http2xconnect=1"
	if prev := os.Getenv("GODEBUG"); prev != "" {
		godebug = prev + "," + godebug
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "failed to rerun the tests with GODEBUG=%s: %v\n", godebug, err)
	return 2
}
