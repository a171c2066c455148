//go:build unix

package websocket

import (
	"sync"
	"syscall"
)

// writeNow writes as much of p to the socket as it takes without
// waiting, and returns how much that was. A write that fits the socket's
// buffer, as almost every write does, then needs no deadline: arming one
// costs the runtime a timer operation per write, which a connection with
// a WriteTimeout, and every write of a broadcast, would otherwise pay.
// Errors are left to the blocking write that follows a short one.
func writeNow(raw syscall.RawConn, p []byte) int {
	if raw == nil || len(p) == 0 {
		return 0
	}
	w := nowWrites.Get().(*nowWrite)
	w.p, w.n = p, 0
	_ = raw.Write(w.fn)
	n := w.n
	w.p = nil
	nowWrites.Put(w)
	return n
}

// nowWrite is writeNow's state, with its function made once, so that a
// write allocates nothing.
type nowWrite struct {
	p  []byte
	n  int
	fn func(fd uintptr) bool
}

var nowWrites = sync.Pool{New: func() any {
	w := new(nowWrite)
	w.fn = func(fd uintptr) bool {
		for w.n < len(w.p) {
			k, err := syscall.Write(int(fd), w.p[w.n:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil || k <= 0 {
				break
			}
			w.n += k
		}
		return true // never wait: the caller does, within its bound
	}
	return w
}}
