package websocket

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves a goroutine behind: every
// Conn must be done with its goroutines and timers once it has ended.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
