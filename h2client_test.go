package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// This file is the test's side of an HTTP/2 connection (h2c, prior
// knowledge): a client written on x/net's Framer, so that the test sees
// every frame the server sends, END_STREAM and RST_STREAM included, and
// chooses every header it sends. Each stream is also a net.Conn, so the
// WebSocket peer of wire_test.go speaks through it unchanged.

// h2Client is one HTTP/2 connection to the server.
type h2Client struct {
	t    *testing.T
	conn net.Conn

	wmu    sync.Mutex // guards the writes of fr, enc and encBuf, nextID
	fr     *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	nextID uint32

	mu       sync.Mutex
	streams  map[uint32]*h2ClientStream // guarded by mu
	settings map[http2.SettingID]uint32 // the server's first SETTINGS; guarded by mu
	gotSet   chan struct{}              // closed when settings arrive
	loopDone chan struct{}              // the read loop has returned
	loopErr  error                      // why it returned; set before loopDone closes

	// withholdWindow stops the client from granting flow-control window:
	// a peer that does not read.
	withholdWindow bool
}

// dialH2 opens an HTTP/2 connection to addr and exchanges SETTINGS.
func dialH2(t *testing.T, addr string) *h2Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	c := &h2Client{
		t: t, conn: conn, nextID: 1,
		streams:  map[uint32]*h2ClientStream{},
		gotSet:   make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	c.fr = http2.NewFramer(conn, conn)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.encBuf)
	_, err = io.WriteString(conn, http2.ClientPreface)
	require.NoError(t, err)
	require.NoError(t, c.fr.WriteSettings())
	go c.readLoop()
	t.Cleanup(func() {
		conn.Close()
		<-c.loopDone
	})
	select {
	case <-c.gotSet:
	case <-time.After(wireTimeout):
		t.Fatal("the server sent no SETTINGS")
	}
	return c
}

// setting returns the value of a setting the server sent, and whether it
// sent it.
func (c *h2Client) setting(id http2.SettingID) (uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.settings[id]
	return v, ok
}

// readLoop reads the server's frames and hands them to their streams.
func (c *h2Client) readLoop() {
	var err error
	defer func() {
		c.mu.Lock()
		c.loopErr = err
		streams := c.streams
		c.mu.Unlock()
		close(c.loopDone)
		for _, s := range streams {
			s.changed()
		}
	}()
	for {
		var f http2.Frame
		if f, err = c.fr.ReadFrame(); err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			c.mu.Lock()
			first := c.settings == nil
			if first {
				c.settings = map[http2.SettingID]uint32{}
				_ = f.ForeachSetting(func(s http2.Setting) error {
					c.settings[s.ID] = s.Val
					return nil
				})
			}
			c.mu.Unlock()
			c.write(func() error { return c.fr.WriteSettingsAck() })
			if first {
				close(c.gotSet)
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.write(func() error { return c.fr.WritePing(true, f.Data) })
			}
		case *http2.MetaHeadersFrame:
			c.stream(f.StreamID).gotHeaders(f)
		case *http2.DataFrame:
			if n := uint32(len(f.Data())); n > 0 && !c.withholdWindow {
				c.write(func() error {
					if err := c.fr.WriteWindowUpdate(0, n); err != nil {
						return err
					}
					return c.fr.WriteWindowUpdate(f.StreamID, n)
				})
			}
			c.stream(f.StreamID).gotData(f.Data(), f.StreamEnded())
		case *http2.RSTStreamFrame:
			c.stream(f.StreamID).gotReset(f.ErrCode)
		}
	}
}

// write runs one framer write under wmu; a failure shows up as the read
// loop's end.
func (c *h2Client) write(w func() error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return w()
}

func (c *h2Client) stream(id uint32) *h2ClientStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[id]
	if s == nil {
		s = &h2ClientStream{c: c, id: id, notify: make(chan struct{})}
		c.streams[id] = s
	}
	return s
}

// open sends a request's HEADERS: the pseudo-headers, then fields, in
// pairs. endStream ends the request with its headers.
func (c *h2Client) open(fields []string, endStream bool) *h2ClientStream {
	c.t.Helper()
	c.wmu.Lock()
	id := c.nextID
	c.nextID += 2
	c.encBuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		require.NoError(c.t, c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]}))
	}
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: id, BlockFragment: c.encBuf.Bytes(), EndHeaders: true, EndStream: endStream,
	})
	c.wmu.Unlock()
	require.NoError(c.t, err)
	return c.stream(id)
}

// websocketRequest returns the fields of a valid extended CONNECT for
// path, followed by extra.
func (c *h2Client) websocketRequest(path string, extra ...string) []string {
	return append([]string{
		":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
		":path", path, ":authority", c.conn.RemoteAddr().String(),
		"sec-websocket-version", "13",
	}, extra...)
}

// openWebSocket opens a WebSocket stream, checks the 200, and returns the
// peer that speaks through it.
func (c *h2Client) openWebSocket(path string, extra ...string) (*peer, *h2ClientStream) {
	c.t.Helper()
	s := c.open(c.websocketRequest(path, extra...), false)
	require.Equal(c.t, "200", s.wantHeaders().PseudoValue("status"))
	return &peer{t: c.t, conn: s, br: bufio.NewReader(s), key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, s
}

// get sends a GET for path and returns the status and the body.
func (c *h2Client) get(path string) (string, string) {
	c.t.Helper()
	s := c.open([]string{":method", "GET", ":scheme", "http", ":path", path, ":authority", c.conn.RemoteAddr().String()}, true)
	status := s.wantHeaders().PseudoValue("status")
	_ = s.SetReadDeadline(time.Now().Add(wireTimeout))
	body, err := io.ReadAll(s)
	require.NoError(c.t, err)
	return status, string(body)
}

// h2ClientStream is one stream of an h2Client, and a net.Conn over it.
type h2ClientStream struct {
	c  *h2Client
	id uint32

	mu        sync.Mutex
	headers   []*http2.MetaHeadersFrame // guarded by mu
	buf       bytes.Buffer              // DATA not yet read; guarded by mu
	ended     bool                      // END_STREAM arrived; guarded by mu
	reset     *http2.ErrCode            // RST_STREAM arrived; guarded by mu
	notify    chan struct{}             // closed and replaced on every change; guarded by mu
	readLimit time.Time                 // guarded by mu
}

func (s *h2ClientStream) changed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changedLocked()
}

func (s *h2ClientStream) changedLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

func (s *h2ClientStream) gotHeaders(f *http2.MetaHeadersFrame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.headers = append(s.headers, f)
	s.ended = s.ended || f.StreamEnded()
	s.changedLocked()
}

func (s *h2ClientStream) gotData(p []byte, end bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	s.ended = s.ended || end
	s.changedLocked()
}

func (s *h2ClientStream) gotReset(code http2.ErrCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset = &code
	s.changedLocked()
}

// await waits until cond, called under mu, holds, or until the deadline
// passes or the connection ends; it reports whether cond held.
func (s *h2ClientStream) await(deadline time.Time, cond func() bool) bool {
	for {
		s.mu.Lock()
		ok, notify := cond(), s.notify
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-notify:
		case <-s.c.loopDone:
			s.mu.Lock()
			ok = cond()
			s.mu.Unlock()
			return ok
		case <-time.After(time.Until(deadline)):
			return false
		}
	}
}

// wantHeaders waits for the response's HEADERS.
func (s *h2ClientStream) wantHeaders() *http2.MetaHeadersFrame {
	s.c.t.Helper()
	ok := s.await(time.Now().Add(wireTimeout), func() bool { return len(s.headers) > 0 || s.reset != nil })
	s.mu.Lock()
	defer s.mu.Unlock()
	require.True(s.c.t, ok && len(s.headers) > 0, "no response headers on stream %d (reset: %v)", s.id, s.reset)
	return s.headers[0]
}

// wantReset waits for the stream to be reset and returns the code.
func (s *h2ClientStream) wantReset() http2.ErrCode {
	s.c.t.Helper()
	ok := s.await(time.Now().Add(wireTimeout), func() bool { return s.reset != nil })
	require.True(s.c.t, ok, "stream %d was not reset", s.id)
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.reset
}

// state returns what has arrived at the end of the stream.
func (s *h2ClientStream) state() (ended bool, reset *http2.ErrCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended, s.reset
}

// Read reads the stream's DATA: io.EOF after END_STREAM, an error
// naming the code after RST_STREAM, os.ErrDeadlineExceeded at the read
// deadline.
func (s *h2ClientStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	deadline := s.readLimit
	s.mu.Unlock()
	if deadline.IsZero() {
		deadline = time.Now().Add(wireTimeout)
	}
	var n int
	var err error
	ok := s.await(deadline, func() bool {
		switch {
		case s.buf.Len() > 0:
			n, _ = s.buf.Read(p)
		case s.ended:
			err = io.EOF
		case s.reset != nil:
			err = fmt.Errorf("stream %d reset: %v", s.id, *s.reset)
		default:
			return false
		}
		return true
	})
	if !ok && err == nil {
		select {
		case <-s.c.loopDone:
			return 0, fmt.Errorf("connection ended: %v", s.c.loopErr)
		default:
			return 0, os.ErrDeadlineExceeded
		}
	}
	return n, err
}

// Write sends p as DATA frames.
func (s *h2ClientStream) Write(p []byte) (int, error) {
	const maxFrame = 16384
	done := 0
	for done < len(p) || len(p) == 0 {
		chunk := p[done:min(len(p), done+maxFrame)]
		if err := s.c.write(func() error { return s.c.fr.WriteData(s.id, false, chunk) }); err != nil {
			return done, err
		}
		done += len(chunk)
		if len(p) == 0 {
			break
		}
	}
	return done, nil
}

// endStream sends an empty DATA frame with END_STREAM.
func (s *h2ClientStream) endStream() error {
	return s.c.write(func() error { return s.c.fr.WriteData(s.id, true, nil) })
}

// resetStream sends RST_STREAM with code.
func (s *h2ClientStream) resetStream(code http2.ErrCode) error {
	return s.c.write(func() error { return s.c.fr.WriteRSTStream(s.id, code) })
}

func (s *h2ClientStream) Close() error                     { return nil }
func (s *h2ClientStream) LocalAddr() net.Addr              { return s.c.conn.LocalAddr() }
func (s *h2ClientStream) RemoteAddr() net.Addr             { return s.c.conn.RemoteAddr() }
func (s *h2ClientStream) SetWriteDeadline(time.Time) error { return nil }
func (s *h2ClientStream) SetDeadline(t time.Time) error    { return s.SetReadDeadline(t) }
func (s *h2ClientStream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readLimit = t
	return nil
}
