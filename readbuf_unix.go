//go:build unix

package websocket

import (
	"net"
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
	// Only a socket the runtime owns: a wrapper may do its own reading
	// (a PROXY header, metrics) that a raw read would skip.
	var sc syscall.Conn
	switch conn := ns.Conn.(type) {
	case *net.TCPConn:
		sc = conn
	case *net.UnixConn:
		sc = conn
	default:
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
