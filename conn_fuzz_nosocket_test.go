//go:build !linux

package websocket

import "testing"

// Off Linux, Serve has no poller: FuzzConnRead runs over fuzzStream only.
const fuzzSockets = false

func newSocketPeer(*testing.T, []byte, int, bool) fuzzPeer { panic("no socket pairs here") }
