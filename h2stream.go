package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// h2Stream is a stream over one HTTP/2 stream (RFC 8441): the request
// body carries the peer's bytes, the response writer ours, each write
// flushed as a DATA frame. It lives inside the handler that called
// Upgrade: net/http ends the HTTP/2 stream when that handler returns
// (END_STREAM), and a response writer must not be used after. So Close
// only stops using the writer, and the END_STREAM follows once the
// handler, which waits for the Conn to end, returns; reset ends the
// stream at once with RST_STREAM.
//
// RFC 8441 section 5 maps an orderly TCP close onto END_STREAM and a TCP
// reset onto RST_STREAM with CANCEL. net/http can reset a stream only
// through a write deadline, which sends INTERNAL_ERROR; a peer treats
// either code as the abrupt end it is.
type h2Stream struct {
	body   io.ReadCloser
	w      http.ResponseWriter
	rc     *http.ResponseController
	local  net.Addr
	remote net.Addr

	// use guards ended: the writer is used under the read lock, and ended
	// turns true under the write lock, so that it waits for a write under
	// way to return before the handler may finish.
	use   sync.RWMutex
	ended bool // the writer is no longer ours: the Conn or the handler ended

	// dlMu guards the write deadline, which is armed on net/http's stream
	// only while a write is under way: net/http resets the stream when a
	// deadline passes even when nothing waits, while a net.Conn's
	// deadline only fails the writes it finds.
	dlMu    sync.Mutex
	wdl     time.Time
	writing bool

	watchMu   sync.Mutex
	stopWatch func() bool // stops the watch of the request's context; guarded by watchMu

	reading atomic.Int32 // reads under way
	gone    atomic.Bool  // the request's context ended under the Conn
}

// errStreamGone ends a Conn whose HTTP/2 stream ended under it.
var errStreamGone = errors.New("websocket: the HTTP/2 stream ended: the handler returned before the connection ended, or the stream was reset")

func newH2Stream(w http.ResponseWriter, r *http.Request) *h2Stream {
	return &h2Stream{
		body:   r.Body,
		w:      w,
		rc:     http.NewResponseController(w),
		local:  h2Addr(r.Context().Value(http.LocalAddrContextKey), ""),
		remote: h2Addr(nil, r.RemoteAddr),
	}
}

// watch calls gone once the request's context ends while the stream is
// still ours: the handler returned, or the stream or its connection was
// reset. From then on the writer is not used.
//
// A call blocked on the stream reports the end itself, with its own
// cause: a write whose deadline made net/http reset the stream, or a read
// that the reset or the handler's return ends. gone is for the end that
// no call is there to see.
func (s *h2Stream) watch(ctx context.Context, gone func()) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	s.stopWatch = context.AfterFunc(ctx, func() {
		s.gone.Store(true)
		if s.end() && !s.writeDeadlinePassed() && s.reading.Load() == 0 {
			gone()
		}
	})
}

// end takes the writer out of use, once a write under way has returned.
// It reports whether this call did.
func (s *h2Stream) end() bool {
	s.use.Lock()
	defer s.use.Unlock()
	first := !s.ended
	s.ended = true
	return first
}

// Read reads the request body. When the stream has been reset under it,
// the error says why: a passed write deadline resets the whole stream,
// reads included, so a reader may see it before the writer does.
func (s *h2Stream) Read(p []byte) (int, error) {
	s.reading.Add(1)
	n, err := s.body.Read(p)
	s.reading.Add(-1)
	switch {
	case err == nil || err == io.EOF:
	case s.writeDeadlinePassed():
		err = fmt.Errorf("websocket: HTTP/2 stream reset: %w: %w", ErrWriteTimeout, os.ErrDeadlineExceeded)
	case s.gone.Load():
		err = fmt.Errorf("%w: %w", errStreamGone, err)
	}
	return n, err
}

// writeDeadlinePassed reports whether a write deadline is set and has
// passed: net/http has reset the stream, or is about to.
func (s *h2Stream) writeDeadlinePassed() bool {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	return !s.wdl.IsZero() && !time.Now().Before(s.wdl)
}

// Write writes p as DATA and flushes it.
func (s *h2Stream) Write(p []byte) (int, error) {
	s.use.RLock()
	defer s.use.RUnlock()
	if s.ended {
		return 0, net.ErrClosed
	}
	armed, err := s.armWrite()
	if err != nil {
		return 0, err
	}
	n, err := s.w.Write(p)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, s.disarmWrite(armed, err)
}

// writeBuffers writes all of b, then flushes once: one DATA frame where
// it fits.
func (s *h2Stream) writeBuffers(b *net.Buffers) (int64, error) {
	s.use.RLock()
	defer s.use.RUnlock()
	if s.ended {
		return 0, net.ErrClosed
	}
	armed, err := s.armWrite()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, p := range *b {
		var n int
		n, err = s.w.Write(p)
		total += int64(n)
		if err != nil {
			break
		}
	}
	*b = (*b)[:0]
	if err == nil {
		err = s.rc.Flush()
	}
	return total, s.disarmWrite(armed, err)
}

// armWrite hands the write deadline to net/http for the write to come.
// The caller holds use.
func (s *h2Stream) armWrite() (armed bool, err error) {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	if s.wdl.IsZero() {
		s.writing = true
		return false, nil
	}
	if !time.Now().Before(s.wdl) {
		return false, fmt.Errorf("websocket: HTTP/2 write: %w", os.ErrDeadlineExceeded)
	}
	s.writing = true
	return true, s.rc.SetWriteDeadline(s.wdl)
}

// disarmWrite takes the deadline back from net/http after a write, and
// names a write that failed because it passed: net/http reports a reset
// stream, not the deadline. The caller holds use.
func (s *h2Stream) disarmWrite(armed bool, err error) error {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	s.writing = false
	if !s.wdl.IsZero() && !time.Now().Before(s.wdl) && err != nil {
		err = fmt.Errorf("%w: %w", os.ErrDeadlineExceeded, err)
	}
	if armed && err == nil {
		_ = s.rc.SetWriteDeadline(time.Time{})
	}
	return err
}

// SetWriteDeadline bounds the writes to come and the one under way.
func (s *h2Stream) SetWriteDeadline(t time.Time) error {
	s.use.RLock()
	defer s.use.RUnlock()
	if s.ended {
		return nil
	}
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	s.wdl = t
	if s.writing {
		return s.rc.SetWriteDeadline(t)
	}
	return nil
}

// SetReadDeadline bounds reads. When it passes, net/http ends the request
// body for good; a Conn ends on a read deadline anyway.
func (s *h2Stream) SetReadDeadline(t time.Time) error {
	s.use.RLock()
	defer s.use.RUnlock()
	if s.ended {
		return nil
	}
	return s.rc.SetReadDeadline(t)
}

// CloseWrite is not supported: net/http sends END_STREAM only when the
// handler returns, which is after the Conn has ended.
func (s *h2Stream) CloseWrite() error { return errors.ErrUnsupported }

// Close gives the writer back to the handler, whose return sends
// END_STREAM, and ends the body, so that a blocked read returns.
func (s *h2Stream) Close() error {
	s.stop()
	s.end()
	return s.body.Close()
}

// reset ends the stream with RST_STREAM at once: a deadline in the past
// makes net/http reset it, which also ends a write blocked on flow
// control and the body.
func (s *h2Stream) reset() error {
	s.stop()
	s.use.RLock()
	if !s.ended {
		_ = s.rc.SetWriteDeadline(time.Unix(1, 0))
	}
	s.use.RUnlock()
	s.end()
	return s.body.Close()
}

// stop stops the watch: the stream ends by our hand. The heartbeat may
// end the Conn before Upgrade has set the watch up.
func (s *h2Stream) stop() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.stopWatch != nil {
		s.stopWatch()
	}
}

func (s *h2Stream) LocalAddr() net.Addr  { return s.local }
func (s *h2Stream) RemoteAddr() net.Addr { return s.remote }

// h2Addr returns addr when it is a net.Addr, else the TCP address in
// hostport, or an address that only holds the text.
func h2Addr(addr any, hostport string) net.Addr {
	if a, ok := addr.(net.Addr); ok {
		return a
	}
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return textAddr(hostport)
}

// textAddr is an address known only by its text.
type textAddr string

func (a textAddr) Network() string { return "tcp" }
func (a textAddr) String() string  { return string(a) }
