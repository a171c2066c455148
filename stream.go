package websocket

import (
	"errors"
	"net"
	"time"
)

// stream is the byte stream a Conn runs on: for HTTP/1.1 the hijacked
// net.Conn (netStream), for HTTP/2 one stream of a shared connection,
// its request body and response writer (h2Stream, RFC 8441). The Conn
// does its own buffering and never reads or writes from two goroutines at
// once, but it sets deadlines and closes from any goroutine.
//
// What only some streams can do is an optional capability, asked for
// with a type assertion and done another way when missing: a vectored
// write (buffersWriter), an abortive end (resetter), and a socket to wait
// on without a read buffer (rawConnOf, which only a netStream over a TCP
// or Unix socket has; without one, idle reads hold a buffer and Serve
// runs a goroutine per connection).
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
	// Close ends the stream in order (a TCP FIN, an HTTP/2 END_STREAM):
	// blocked calls return at once.
	Close() error
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
}

// buffersWriter is a stream that writes several slices as one delivery:
// one system call on a socket, one flush on HTTP/2.
type buffersWriter interface {
	writeBuffers(b *net.Buffers) (int64, error)
}

// resetter is a stream with an abortive end besides Close: an HTTP/2
// stream is reset (RST_STREAM) rather than ended in order. A stream
// without one is dropped with Close, as TCP is.
type resetter interface {
	reset() error
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

// writeBuffers writes b with writev where the connection is a socket.
func (s *netStream) writeBuffers(b *net.Buffers) (int64, error) {
	return b.WriteTo(s.Conn)
}
