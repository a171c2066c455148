package main

import (
	"os"
	"testing"

	"github.com/a60656ec/websocket/internal/xconnect"
)

// TestMain reruns the tests with http2xconnect=1 in GODEBUG, which the
// HTTP/2 servers need as the process starts; the others do not mind it.
func TestMain(m *testing.M) {
	if !xconnect.On() {
		os.Exit(xconnect.Rerun())
	}
	os.Exit(m.Run())
}
