//go:build !unix

package websocket

import "syscall"

// writeNow is the Unix fast path of a bounded write; elsewhere the write
// arms its deadline and blocks as any other.
func writeNow(syscall.RawConn, []byte) int { return 0 }
