package websocket

import (
	"errors"
	"net"
	"time"
)

// stream is the byte stream a Conn runs on. For HTTP/1.1 it is the
// hijacked net.Conn; an HTTP/2 stream (RFC 8441) can implement it over a
// request and a response body. The Conn does its own buffering and never
// reads or writes from two goroutines at once, but it sets deadlines and
// closes from any goroutine.
type stream interface {
	// Read reads the next bytes from the peer.
	Read(p []byte) (int, error)
	// Write writes p and delivers it: a stream that buffers flushes here.
	Write(p []byte) (int, error)
	// SetReadDeadline and SetWriteDeadline bound blocked calls, as on a
	// net.Conn, including calls already blocked.
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	// CloseWrite ends our direction of the stream in order, keeping the
	// other open, or returns errors.ErrUnsupported.
	CloseWrite() error
	// Close ends the stream: blocked calls return at once.
	Close() error
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
}

// netStream is a stream over a hijacked net.Conn.
type netStream struct {
	net.Conn
	// pending holds the bytes the HTTP server read past the upgrade
	// request: they are the first bytes of the WebSocket stream.
	pending []byte
}

func (s *netStream) Read(p []byte) (int, error) {
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		if len(s.pending) == 0 {
			s.pending = nil
		}
		return n, nil
	}
	return s.Conn.Read(p)
}

func (s *netStream) CloseWrite() error {
	if cw, ok := s.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
