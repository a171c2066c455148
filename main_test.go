package websocket

import (
	"os"
	"strconv"
	"testing"

	"github.com/a60656ec/websocket/internal/xconnect"
	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves a goroutine behind: every
// Conn must be done with its goroutines and timers once it has ended.
func TestMain(m *testing.M) {
	if addr := os.Getenv(drainClientEnv); addr != "" {
		n, _ := strconv.Atoi(os.Getenv(drainCountEnv))
		runDrainClients(addr, n) // BenchmarkDrain's child process
		return
	}
	if !xconnect.On() {
		os.Exit(xconnect.Rerun()) // net/http reads the setting at init
	}
	goleak.VerifyTestMain(m)
}
