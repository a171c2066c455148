//go:build unix

package websocket

import "syscall"

// raiseFileLimit lifts the soft limit on open files to the hard one, for
// BenchmarkDrain's thousands of connections.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
