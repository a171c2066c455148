package websocket

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// This file is the test's side of the wire: a server built on the package,
// and a peer that speaks raw frames to it, so that every byte a test sends
// is chosen by the test and every byte the server sends is checked.

// wireTimeout bounds every wait of the peer: reached only when a test fails.
const wireTimeout = 10 * time.Second

// testKey is the Sec-WebSocket-Key of RFC 6455 section 1.3.
const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

// startServer serves upgrades with u on 127.0.0.1 and hands each Conn to
// the test through the returned channel.
func startServer(t *testing.T, u *Upgrader) (*httptest.Server, <-chan *Conn) {
	t.Helper()
	conns := make(chan *Conn, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		t.Cleanup(func() {
			_ = c.Terminate()
		})
		conns <- c
	}))
	t.Cleanup(srv.Close)
	return srv, conns
}

// peer is the client end of a connection, played by the test.
type peer struct {
	t       *testing.T
	conn    net.Conn
	br      *bufio.Reader
	key     [4]byte
	timeout time.Duration // bounds each wait; wireTimeout when zero
}

// deadline is when the peer's current wait fails the test.
func (p *peer) deadline() time.Time {
	if p.timeout == 0 {
		return time.Now().Add(wireTimeout)
	}
	return time.Now().Add(p.timeout)
}

// connect opens a connection to a fresh server and returns both ends.
func connect(t *testing.T, u *Upgrader) (*peer, *Conn) {
	t.Helper()
	srv, conns := startServer(t, u)
	p := dial(t, srv.Listener.Addr().String(), nil)
	select {
	case c := <-conns:
		return p, c
	case <-time.After(wireTimeout):
		t.Fatal("the server did not upgrade the connection")
		return nil, nil
	}
}

// dial connects to addr and runs the opening handshake by hand; extra
// headers are added to the request.
func dial(t *testing.T, addr string, extra http.Header) *peer {
	t.Helper()
	p, _ := dialResponse(t, addr, extra)
	return p
}

// dialResponse is dial that also returns the server's 101 response.
func dialResponse(t *testing.T, addr string, extra http.Header) (*peer, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(wireTimeout))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n"
	for k, vs := range extra {
		for _, v := range vs {
			req += k + ": " + v + "\r\n"
		}
	}
	_, err = io.WriteString(conn, req+"\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.Header.Get("Sec-WebSocket-Accept"))
	return &peer{t: t, conn: conn, br: br, key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, resp
}

// frame builds a client frame: masked with the peer's key, with the
// shortest length encoding. bits is the first byte's FIN and RSV bits.
func (p *peer) frame(first byte, payload []byte) []byte {
	b := []byte{first}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, p.key[:]...)
	for i, c := range payload {
		b = append(b, c^p.key[i%4])
	}
	return b
}

// First bytes of frames on the wire: FIN and the opcodes.
const (
	fin     = 0x80
	wCont   = 0x0
	wText   = 0x1
	wBinary = 0x2
	wClose  = 0x8
	wPing   = 0x9
	wPong   = 0xA
)

// send writes one frame whose first byte is first (FIN, RSV and opcode).
func (p *peer) send(first byte, payload []byte) {
	p.t.Helper()
	p.sendRaw(p.frame(first, payload))
}

// sendRaw writes bytes as they are.
func (p *peer) sendRaw(b []byte) {
	p.t.Helper()
	_ = p.conn.SetWriteDeadline(p.deadline())
	_, err := p.conn.Write(b)
	require.NoError(p.t, err)
}

// sendClose sends a close frame with code and reason.
func (p *peer) sendClose(code StatusCode, reason string) {
	p.t.Helper()
	p.send(fin|wClose, closeBody(code, reason))
}

func closeBody(code StatusCode, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// serverFrame is a frame as the server sent it.
type serverFrame struct {
	first   byte // FIN, RSV and opcode
	payload []byte
}

func (f serverFrame) String() string {
	return fmt.Sprintf("frame{%#x, %q}", f.first, f.payload)
}

// readFrame reads one server frame, checking that it is not masked.
func (p *peer) readFrame() (serverFrame, error) {
	_ = p.conn.SetReadDeadline(p.deadline())
	var h [2]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return serverFrame{}, err
	}
	if h[1]&0x80 != 0 {
		return serverFrame{}, errors.New("server frame is masked")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(p.br, l[:]); err != nil {
			return serverFrame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(p.br, l[:]); err != nil {
			return serverFrame{}, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(p.br, payload); err != nil {
		return serverFrame{}, err
	}
	return serverFrame{first: h[0], payload: payload}, nil
}

// wantFrame reads the next frame and checks it is first with payload.
func (p *peer) wantFrame(first byte, payload string) {
	p.t.Helper()
	f, err := p.readFrame()
	require.NoError(p.t, err)
	require.Equal(p.t, serverFrame{first: first, payload: []byte(payload)}.String(), f.String())
}

// wantClose reads the next frame and checks it is a close frame with code
// (and any reason).
func (p *peer) wantClose(code StatusCode) string {
	p.t.Helper()
	f, err := p.readFrame()
	require.NoError(p.t, err)
	require.Equal(p.t, byte(fin|wClose), f.first, "want a close frame, got %v", f)
	require.GreaterOrEqual(p.t, len(f.payload), 2, "close frame without a code: %v", f)
	require.Equal(p.t, code, StatusCode(binary.BigEndian.Uint16(f.payload)), "close code")
	return string(f.payload[2:])
}

// wantEOF checks that the server closed TCP with nothing more sent.
func (p *peer) wantEOF() {
	p.t.Helper()
	_ = p.conn.SetReadDeadline(p.deadline())
	b, err := io.ReadAll(p.br)
	require.Empty(p.t, b, "bytes after the end")
	require.NoError(p.t, err, "want a FIN from the server, not a reset")
}

// wantDone waits until the Conn has ended.
func wantDone(t *testing.T, c *Conn) CloseEvent {
	t.Helper()
	select {
	case <-c.Done():
		return c.CloseEvent()
	case <-time.After(wireTimeout):
		t.Fatal("the connection did not end")
		return CloseEvent{}
	}
}
