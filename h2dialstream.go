package websocket

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// h2DialStream is a client's stream over one HTTP/2 stream of an
// http.RoundTripper: our frames go into the request body, a pipe the
// transport sends as DATA, each write flushed; the peer's come from the
// response body. Closing the request body sends END_STREAM; canceling
// the request's context sends RST_STREAM with CANCEL, as RFC 8441
// section 5 asks for an abortive end.
//
// A pipe and a response body have no deadlines: a deadline here is a
// timer that resets the stream when it passes, so a read or write it
// finds blocked returns at once. Unlike a net.Conn's, a stream so ended
// cannot be used again; a Conn ends on a passed deadline anyway.
type h2DialStream struct {
	ctx    context.Context // the request's: canceling it resets the stream
	cancel context.CancelFunc
	pr     *io.PipeReader // the request body, read by the transport
	pw     *io.PipeWriter
	body   io.ReadCloser // the response body; set once the 200 arrived

	mu      sync.Mutex
	local   net.Addr       // guarded by mu
	remote  net.Addr       // guarded by mu
	timers  [2]*time.Timer // read and write deadlines; guarded by mu
	expired [2]bool        // which deadline reset the stream; guarded by mu
	ended   bool           // Close or reset ran: no timer is armed again; guarded by mu
}

const (
	readTimer  = 0
	writeTimer = 1
)

func newH2DialStream(dialCtx context.Context) *h2DialStream {
	// The stream outlives the dial: its context keeps the dial's values,
	// not its end.
	ctx, cancel := context.WithCancel(context.WithoutCancel(dialCtx))
	pr, pw := io.Pipe()
	return &h2DialStream{ctx: ctx, cancel: cancel, pr: pr, pw: pw,
		local: textAddr(""), remote: textAddr("")}
}

// setAddrs takes the addresses of the HTTP/2 connection the stream runs
// on.
func (s *h2DialStream) setAddrs(conn net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.local, s.remote = conn.LocalAddr(), conn.RemoteAddr()
}

// abandon ends a stream whose handshake failed.
func (s *h2DialStream) abandon() {
	s.cancel()
	_ = s.pw.CloseWithError(net.ErrClosed)
}

func (s *h2DialStream) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	return n, s.explain(err)
}

func (s *h2DialStream) Write(p []byte) (int, error) {
	n, err := s.pw.Write(p)
	return n, s.explain(err)
}

// explain names a passed deadline as the reason of an error that the
// reset it caused gave. A write deadline's reset ends reads too, so a
// reader may see it first: it is a write timeout whoever sees it.
func (s *h2DialStream) explain(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	s.mu.Lock()
	expired := s.expired
	s.mu.Unlock()
	switch {
	case expired[writeTimer]:
		return fmt.Errorf("websocket: HTTP/2 stream reset: %w: %w", ErrWriteTimeout, os.ErrDeadlineExceeded)
	case expired[readTimer]:
		return fmt.Errorf("websocket: HTTP/2 stream: %w: %w", os.ErrDeadlineExceeded, err)
	}
	return err
}

func (s *h2DialStream) SetReadDeadline(t time.Time) error  { return s.setDeadline(readTimer, t) }
func (s *h2DialStream) SetWriteDeadline(t time.Time) error { return s.setDeadline(writeTimer, t) }

func (s *h2DialStream) setDeadline(which int, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// One timer per direction, made by its first deadline and reset
	// after: a WriteTimeout moves the write deadline on every write.
	tm := s.timers[which]
	if tm != nil {
		tm.Stop()
	}
	if t.IsZero() || s.ended {
		return nil // an ended stream arms nothing that would outlive it
	}
	if tm == nil {
		s.timers[which] = time.AfterFunc(time.Until(t), func() { s.expire(which) })
	} else {
		tm.Reset(time.Until(t))
	}
	return nil
}

// expire resets the stream at a passed deadline.
func (s *h2DialStream) expire(which int) {
	s.mu.Lock()
	s.expired[which] = true
	s.mu.Unlock()
	_ = s.reset()
}

// CloseWrite ends our direction: the transport sends END_STREAM once it
// has sent what we wrote.
func (s *h2DialStream) CloseWrite() error { return s.pw.Close() }

// Close ends the stream in order: END_STREAM for our side, and the
// response body closed, which resets the stream only when the server had
// not ended its side (a client that stopped waiting for it).
func (s *h2DialStream) Close() error {
	s.stopTimers()
	_ = s.pw.Close()
	err := s.body.Close()
	s.cancel() // releases the context; nothing left to reset
	return err
}

// reset ends the stream with RST_STREAM (CANCEL) at once.
func (s *h2DialStream) reset() error {
	s.stopTimers()
	s.cancel()
	_ = s.pw.CloseWithError(net.ErrClosed)
	if s.body != nil {
		_ = s.body.Close()
	}
	return nil
}

// stopTimers stops the deadlines' timers for good: the stream has ended.
func (s *h2DialStream) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	for _, t := range s.timers {
		if t != nil {
			t.Stop()
		}
	}
}

func (s *h2DialStream) LocalAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.local
}

func (s *h2DialStream) RemoteAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remote
}
