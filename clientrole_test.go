package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file tests the client's role on a Conn without the opening
// handshake: the test plays the server on the raw wire, sending unmasked
// frames and reading masked ones.

// rawServer is the server end of a client Conn, played by the test.
type rawServer struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// clientFrame is a frame as the client sent it, unmasked.
type clientFrame struct {
	first   byte // FIN, RSV and opcode
	key     [4]byte
	payload []byte
}

// clientPipe connects a client Conn to a rawServer through net.Pipe, for
// tests that run in a synctest bubble.
func clientPipe(t *testing.T, cfg connConfig) (*rawServer, *Conn) {
	cfg.role = roleClient
	client, server := net.Pipe()
	c := newConn(&netStream{Conn: client}, cfg.withDefaults())
	t.Cleanup(func() {
		_ = c.Terminate()
		server.Close()
	})
	return &rawServer{t: t, conn: server, br: bufio.NewReader(server)}, c
}

// serverFrameBytes builds an unmasked frame, as a server sends it.
func serverFrameBytes(first byte, payload []byte) []byte {
	b := []byte{first}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// send writes one unmasked frame.
func (s *rawServer) send(first byte, payload []byte) {
	s.t.Helper()
	_, err := s.conn.Write(serverFrameBytes(first, payload))
	require.NoError(s.t, err)
}

// readFrame reads one client frame, which must be masked, and unmasks it.
func (s *rawServer) readFrame() (clientFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(s.br, h[:]); err != nil {
		return clientFrame{}, err
	}
	if h[1]&0x80 == 0 {
		return clientFrame{}, errors.New("client frame is not masked")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(s.br, l[:]); err != nil {
			return clientFrame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(s.br, l[:]); err != nil {
			return clientFrame{}, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	f := clientFrame{first: h[0], payload: make([]byte, n)}
	if _, err := io.ReadFull(s.br, f.key[:]); err != nil {
		return clientFrame{}, err
	}
	if _, err := io.ReadFull(s.br, f.payload); err != nil {
		return clientFrame{}, err
	}
	for i := range f.payload {
		f.payload[i] ^= f.key[i%4]
	}
	return f, nil
}

// wantFrame reads the next frame and checks its first byte and payload.
func (s *rawServer) wantFrame(first byte, payload []byte) clientFrame {
	s.t.Helper()
	f, err := s.readFrame()
	require.NoError(s.t, err)
	require.Equal(s.t, fmt.Sprintf("%#x", first), fmt.Sprintf("%#x", f.first))
	require.True(s.t, bytes.Equal(payload, f.payload), "payload of %d bytes differs from the %d sent", len(f.payload), len(payload))
	return f
}

// wantClose reads a close frame with code and returns its reason.
func (s *rawServer) wantClose(code StatusCode) string {
	s.t.Helper()
	f, err := s.readFrame()
	require.NoError(s.t, err)
	require.Equal(s.t, byte(fin|wClose), f.first, "want a close frame")
	require.GreaterOrEqual(s.t, len(f.payload), 2)
	require.Equal(s.t, code, StatusCode(binary.BigEndian.Uint16(f.payload)))
	return string(f.payload[2:])
}

// wantEOF checks that the client closed its end with nothing more sent.
func (s *rawServer) wantEOF() {
	s.t.Helper()
	b, err := io.ReadAll(s.br)
	require.NoError(s.t, err)
	require.Empty(s.t, b, "bytes after the end")
}

// TestClientMasksEveryFrame: every frame a client sends is masked, each
// with a key of its own, data and control frames alike, and the caller's
// slices are never touched by the masking.
func TestClientMasksEveryFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := clientPipe(t, connConfig{})
		small := []byte("hello, server")
		large := testPattern(100 << 10) // past the write buffer and the stream buffer
		part := testPattern(9000)
		originals := [][]byte{bytes.Clone(small), bytes.Clone(large), bytes.Clone(part)}
		msgs := readAll(c)
		wrote := make(chan error, 1)
		go func() {
			wrote <- func() error {
				if err := c.WriteMessage(TextMessage, small); err != nil {
					return err
				}
				if err := c.WriteMessage(BinaryMessage, large); err != nil {
					return err
				}
				w, err := c.NextWriter(BinaryMessage)
				if err != nil {
					return err
				}
				if _, err := w.Write(part); err != nil { // past the write buffer: into 64 KiB
					return err
				}
				if _, err := w.Write(small); err != nil { // buffered until Close
					return err
				}
				if err := w.Close(); err != nil { // one final frame
					return err
				}
				if w, err = c.NextWriter(BinaryMessage); err != nil {
					return err
				}
				if _, err := w.Write(large); err != nil { // 64 KiB at a time
					return err
				}
				return w.Close()
			}()
		}()
		keys := map[[4]byte]bool{}
		record := func(f clientFrame) { keys[f.key] = true }
		record(s.wantFrame(fin|wText, small))
		record(s.wantFrame(fin|wBinary, large))
		record(s.wantFrame(fin|wBinary, append(bytes.Clone(part), small...)))
		record(s.wantFrame(wBinary, large[:64<<10]))
		record(s.wantFrame(fin|wCont, large[64<<10:]))
		require.NoError(t, <-wrote)
		s.send(fin|wPing, []byte("are you there"))
		record(s.wantFrame(fin|wPong, []byte("are you there")))
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "done") }()
		f, err := s.readFrame()
		require.NoError(t, err)
		record(f)
		assert.Equal(t, closeBody(StatusNormalClosure, "done"), f.payload)
		assert.Len(t, keys, 7, "a fresh key for every frame")
		assert.Equal(t, originals, [][]byte{small, large, part}, "the caller's slices")
		s.send(fin|wClose, closeBody(StatusNormalClosure, ""))
		s.conn.Close()
		require.NoError(t, <-closed)
		assert.Equal(t, StatusNormalClosure, CloseStatus((<-msgs).err))
	})
}

// TestClientRefusesMaskedFrame: a masked frame from the server fails the
// connection with 1002, and the reader gets an error wrapping ErrProtocol.
func TestClientRefusesMaskedFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := clientPipe(t, connConfig{})
		msgs := readAll(c)
		p := &peer{key: [4]byte{1, 2, 3, 4}}
		_, err := s.conn.Write(p.frame(fin|wText, []byte("masked")))
		require.NoError(t, err)
		assert.Equal(t, "protocol error", s.wantClose(StatusProtocolError))
		s.wantEOF()
		m := <-msgs
		require.ErrorIs(t, m.err, ErrProtocol)
		assert.Contains(t, m.err.Error(), "server frame is masked")
		ev := c.CloseEvent()
		assert.False(t, ev.WasClean)
		assert.ErrorIs(t, ev.Err, ErrProtocol)
	})
}

// TestClientWaitsForServerFIN: after the closing handshake the client
// leaves TCP to the server (RFC 6455 7.1.1), whichever side started it,
// and ends clean once the server closes.
func TestClientWaitsForServerFIN(t *testing.T) {
	for _, clientStarts := range []bool{true, false} {
		t.Run(map[bool]string{true: "client starts", false: "server starts"}[clientStarts], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, c := clientPipe(t, connConfig{})
				msgs := readAll(c)
				closed := make(chan error, 1)
				want := CloseEvent{Code: 4001, Reason: "bye", WasClean: true, Initiator: SidePeer}
				if clientStarts {
					go func() { closed <- c.Close(4001, "bye") }()
					assert.Equal(t, "bye", s.wantClose(4001))
					s.send(fin|wClose, closeBody(4001, "bye"))
					want.Initiator = SideLocal
				} else {
					s.send(fin|wClose, closeBody(4001, "bye"))
					assert.Equal(t, "bye", s.wantClose(4001))
				}
				synctest.Wait()
				select {
				case <-c.Done():
					t.Fatal("the client ended before the server closed TCP")
				default:
				}
				s.conn.Close() // the server's FIN
				if clientStarts {
					require.NoError(t, <-closed)
				}
				<-c.Done()
				assert.Equal(t, want, c.CloseEvent())
				m := <-msgs
				assert.Equal(t, &CloseError{Code: 4001, Reason: "bye"}, m.err)
			})
		})
	}
}

// TestClientServerNeverCloses: a server that answers the close frame but
// keeps TCP open is left at the close timeout; the handshake completed,
// so the end is clean and Close returns nil.
func TestClientServerNeverCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const closeTimeout = 3 * time.Second
		s, c := clientPipe(t, connConfig{closeTimeout: closeTimeout})
		start := time.Now()
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusGoingAway, "") }()
		s.wantClose(StatusGoingAway)
		s.send(fin|wClose, closeBody(StatusGoingAway, ""))
		require.NoError(t, <-closed)
		assert.Equal(t, closeTimeout, time.Since(start))
		assert.Equal(t, CloseEvent{Code: StatusGoingAway, WasClean: true, Initiator: SideLocal}, c.CloseEvent())
		s.wantEOF()
	})
}

// TestClientTerminateDuringFINWait: Terminate cuts the wait for the
// server's FIN at once; the handshake had completed, so the end stays
// clean.
func TestClientTerminateDuringFINWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := clientPipe(t, connConfig{})
		start := time.Now()
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "") }()
		s.wantClose(StatusNormalClosure)
		s.send(fin|wClose, closeBody(StatusNormalClosure, ""))
		synctest.Wait() // the client waits for the FIN
		require.NoError(t, c.Terminate())
		require.NoError(t, <-closed)
		assert.Zero(t, time.Since(start))
		assert.True(t, c.CloseEvent().WasClean)
		assert.ErrorIs(t, c.Terminate(), net.ErrClosed)
		s.wantEOF()
	})
}

// TestClientHeartbeat: the heartbeat pings the server with masked pings,
// keeps a server that answers and terminates one that stops.
func TestClientHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, c := clientPipe(t, connConfig{pingInterval: 10 * time.Second, pongTimeout: 3 * time.Second})
		msgs := readAll(c)
		start := time.Now()
		f := s.wantFrame(fin|wPing, nil)
		assert.Equal(t, 10*time.Second, time.Since(start))
		s.send(fin|wPong, f.payload)
		s.wantFrame(fin|wPing, nil)
		assert.Equal(t, 20*time.Second, time.Since(start))
		s.wantEOF() // no pong this time
		assert.Equal(t, 23*time.Second, time.Since(start))
		m := <-msgs
		assert.ErrorIs(t, m.err, ErrPongTimeout)
		assert.Equal(t, CloseEvent{Code: StatusAbnormalClosure, Initiator: SideLocal, Err: ErrPongTimeout}, c.CloseEvent())
	})
}
