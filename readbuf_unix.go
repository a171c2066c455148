//go:build unix

package websocket

import (
	"os"
	"syscall"
)

// readSocket reads a socket that the runtime's poller reported readable.
func readSocket(fd uintptr, p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), p)
		switch err {
		case nil:
			return n, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, err
		}
		return 0, os.NewSyscallError("read", err)
	}
}

// rawConnOf returns the socket under s, when there is one to wait on
// without a buffer.
func rawConnOf(s stream) syscall.RawConn {
	ns, ok := s.(*netStream)
	if !ok {
		return nil
	}
	sc, ok := ns.Conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
