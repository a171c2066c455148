package main

// The load generator over HTTP/2 (RFC 8441), for the ours-h2 servers: the
// same RFC 6455 frames as over HTTP/1.1 (client.go), written into and read
// from an extended CONNECT stream of golang.org/x/net/http2's client
// Transport over cleartext TCP (h2c with prior knowledge). x/net's
// Transport is what a Go client, and this library's Dialer.HTTP2Transport,
// sends with, so the server sees a real client's framing: one DATA frame
// per WebSocket frame written, and WINDOW_UPDATEs as x/net sends them. Its
// cost shows in the load generator's CPU per round trip, which every cell
// reports.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// loadDialer opens the load generator's connections to one server
// process: over HTTP/1.1, or as extended CONNECT streams for the HTTP/2
// variants. ours-h2 gives every WebSocket a TCP connection of its own, as
// HTTP/1.1 does; ours-h2-mux opens them all as streams of one shared TCP
// connection, as a browser does for one origin (x/net opens another once
// the server's limit of concurrent streams, 250 in net/http, is reached).
type loadDialer struct {
	h2     bool
	shared *http2.Transport // ours-h2-mux's one transport, whose pool holds the TCP connection
}

func newLoadDialer(lib string) *loadDialer {
	d := &loadDialer{h2: isH2(lib)}
	if lib == "ours-h2-mux" {
		d.shared = newH2Transport(nil, nil)
	}
	return d
}

// dial connects from local (nil: any loopback address; the shared
// transport ignores it) to addr and runs the opening handshake, offering
// compression in offer. readBuf sizes the client's receive buffer.
func (d *loadDialer) dial(addr string, local net.IP, readBuf int, timeout time.Duration, offer compression) (*wsClient, error) {
	if !d.h2 {
		return dialWSDeflate(addr, local, readBuf, timeout, offer)
	}
	s := &h2ClientStream{}
	t := d.shared
	if t == nil {
		// A transport per WebSocket, so a TCP connection per WebSocket;
		// the stream closes it when it ends.
		t = newH2Transport(local, func(nc net.Conn) {
			s.mu.Lock()
			s.tcp = nc
			s.mu.Unlock()
		})
	}
	if err := s.open(t, addr, timeout, offer); err != nil {
		s.mu.Lock()
		tcp := s.tcp // the WebSocket's own TCP connection, if it got one
		s.mu.Unlock()
		if tcp != nil {
			tcp.Close() // and with it x/net's reader of it
		}
		return nil, err
	}
	c := newWSClient(s, readBuf, offer)
	z, err := offer.accept(s.resp.Header.Values("Sec-Websocket-Extensions"))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	c.deflate = z
	return c, nil
}

// close ends the shared transport's connections once their streams have
// ended.
func (d *loadDialer) close() {
	if d.shared != nil {
		d.shared.CloseIdleConnections()
	}
}

// newH2Transport is an h2c client transport whose connections come from
// local (nil: any) and are handed to got.
func newH2Transport(local net.IP, got func(net.Conn)) *http2.Transport {
	return &http2.Transport{
		AllowHTTP: true, // cleartext: "TLS" dials are plain TCP
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			if local != nil {
				d.LocalAddr = &net.TCPAddr{IP: local}
			}
			nc, err := d.DialContext(ctx, network, addr)
			if err == nil && got != nil {
				got(nc)
			}
			return nc, err
		},
	}
}

// h2ClientStream is one extended CONNECT stream as a net.Conn: writes go
// into the request body, a pipe that the transport sends as DATA; reads
// come from the response body. A deadline is a timer that resets the
// stream when it passes, reads and writes alike (the bench sets one
// deadline for both, or only the read one while only reading).
type h2ClientStream struct {
	pw     *io.PipeWriter
	resp   *http.Response
	cancel context.CancelFunc // resets the stream (RST_STREAM CANCEL)

	// mu guards the rest: the transport's goroutines, a deadline's timer
	// and the client's goroutine all reach them.
	mu            sync.Mutex
	tcp           net.Conn // the stream's own TCP connection; nil when shared
	local, remote net.Addr
	timer         *time.Timer // the deadline's, while one is set
	expired       bool        // a deadline reset the stream
}

// open sends the extended CONNECT and checks the answer: 200 over
// HTTP/2 (RFC 8441 section 5).
func (s *h2ClientStream) open(t *http2.Transport, addr string, timeout time.Duration, offer compression) error {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		s.mu.Lock()
		s.local, s.remote = info.Conn.LocalAddr(), info.Conn.RemoteAddr()
		s.mu.Unlock()
	}})
	req, err := http.NewRequestWithContext(ctx, http.MethodConnect, "http://"+addr+"/", pr)
	if err != nil {
		cancel()
		return err
	}
	req.ContentLength = -1 // the stream stays open for our frames
	req.Header[":protocol"] = []string{"websocket"}
	req.Header.Set("Sec-WebSocket-Version", "13")
	if ext := offer.header(); ext != "" {
		req.Header.Set("Sec-WebSocket-Extensions", ext)
	}
	s.pw, s.cancel = pw, cancel
	handshake := time.AfterFunc(timeout, cancel)
	resp, err := t.RoundTrip(req)
	if !handshake.Stop() {
		err = fmt.Errorf("handshake over HTTP/2: no answer within %v", timeout)
	}
	if err == nil && (resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2) {
		err = fmt.Errorf("handshake over HTTP/2: %s %s, want 200 over HTTP/2", resp.Proto, resp.Status)
	}
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		s.abort()
		return err
	}
	s.resp = resp
	return nil
}

// Read reads what the server sent on the stream: the response body.
func (s *h2ClientStream) Read(p []byte) (int, error) {
	n, err := s.resp.Body.Read(p)
	return n, s.explain(err)
}

// Write sends p on the stream, through the request body's pipe.
func (s *h2ClientStream) Write(p []byte) (int, error) {
	n, err := s.pw.Write(p)
	return n, s.explain(err)
}

// explain reports an error that a passed deadline caused as a timeout, as
// a net.Conn would.
func (s *h2ClientStream) explain(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	s.mu.Lock()
	expired := s.expired
	s.mu.Unlock()
	if expired {
		return fmt.Errorf("HTTP/2 stream reset at its deadline: %w", os.ErrDeadlineExceeded)
	}
	return err
}

func (s *h2ClientStream) SetDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if !t.IsZero() {
		s.timer = time.AfterFunc(time.Until(t), func() {
			s.mu.Lock()
			s.expired = true
			s.mu.Unlock()
			s.abort()
		})
	}
	return nil
}

func (s *h2ClientStream) SetReadDeadline(t time.Time) error  { return s.SetDeadline(t) }
func (s *h2ClientStream) SetWriteDeadline(t time.Time) error { return s.SetDeadline(t) }

// abort resets the stream: blocked reads and writes return.
func (s *h2ClientStream) abort() {
	s.cancel()
	_ = s.pw.CloseWithError(net.ErrClosed)
}

// Close ends our side (END_STREAM) and the stream, and the TCP connection
// when the stream had it to itself: after the closing handshake, as a
// client closes TCP after the server's FIN; before, as a dropped
// connection.
func (s *h2ClientStream) Close() error {
	_ = s.SetDeadline(time.Time{})
	_ = s.pw.Close()
	err := s.resp.Body.Close()
	s.cancel()
	s.mu.Lock()
	tcp := s.tcp
	s.mu.Unlock()
	if tcp != nil {
		_ = tcp.Close()
	}
	return err
}

func (s *h2ClientStream) LocalAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.local
}

func (s *h2ClientStream) RemoteAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remote
}
