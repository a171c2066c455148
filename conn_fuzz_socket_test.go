//go:build linux

package websocket

import (
	"bytes"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// On Linux, FuzzConnRead can also run the Conn over a Unix socket pair, so
// that Serve hands the connection to the poller and reads go through the
// raw socket.
const fuzzSockets = true

// socketPeer is the peer's end of a Unix socket pair: it sends its bytes
// in chunks, then shuts its side (or, hanging, keeps it open), and reads
// all the Conn writes.
type socketPeer struct {
	server  *net.UnixConn
	peer    *net.UnixConn
	drained chan struct{}
	outDone chan struct{}
	out     bytes.Buffer
}

// unixConn makes a *net.UnixConn of one end of a socket pair.
func unixConn(t *testing.T, fd int) *net.UnixConn {
	f := os.NewFile(uintptr(fd), "fuzz")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		t.Fatalf("socket pair: %v", err)
	}
	return c.(*net.UnixConn)
}

func newSocketPeer(t *testing.T, in []byte, chunk int, hang bool) *socketPeer {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket pair: %v", err)
	}
	s := &socketPeer{
		server:  unixConn(t, fds[0]),
		peer:    unixConn(t, fds[1]),
		drained: make(chan struct{}),
		outDone: make(chan struct{}),
	}
	go func() {
		for len(in) > 0 {
			n := len(in)
			if chunk > 0 {
				n = min(n, chunk)
			}
			if _, err := s.peer.Write(in[:n]); err != nil {
				return // the Conn closed its end
			}
			in = in[n:]
		}
		if hang {
			close(s.drained)
		} else {
			_ = s.peer.CloseWrite()
		}
	}()
	go func() {
		defer close(s.outDone)
		_, _ = io.Copy(&s.out, s.peer)
	}()
	return s
}

func (s *socketPeer) stream() stream               { return &netStream{Conn: s.server} }
func (s *socketPeer) drainedChan() <-chan struct{} { return s.drained }

// written waits for the Conn's closed end to show as EOF on the peer's.
func (s *socketPeer) written(t *testing.T, k fuzzKnobs, deadline <-chan time.Time) []byte {
	select {
	case <-s.outDone:
	case <-deadline:
		failHang(t, k, "the peer did not see the socket closed")
	}
	// Unblocks the writer, should the Conn have stopped reading.
	_ = s.peer.Close()
	return s.out.Bytes()
}
