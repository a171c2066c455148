package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// maxWait bounds every wait of these tests; it is reached only when the
// client is stuck.
const maxWait = 10 * time.Second

// echoServer is a loopback server that echoes every message, except two
// text commands: "/close" closes with 4001 "bye", "/terminate" drops TCP.
// It accepts permessage-deflate as the client offers it and the
// subprotocol "chat", and says in a text message which it negotiated
// when asked with "/negotiated".
func echoServer(t *testing.T) string {
	upgrader := websocket.Upgrader{
		Compression:          websocket.CompressionContextTakeover,
		CompressionThreshold: -1, // every message, however short
		Subprotocols:         []string{"chat"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			switch string(msg) {
			case "/close":
				_ = conn.Close(4001, "bye")
				return
			case "/terminate":
				_ = conn.Terminate()
				return
			case "/negotiated":
				msg = []byte(fmt.Sprintf("subprotocol %q, extensions %q", conn.Subprotocol(), r.Header.Get("Sec-WebSocket-Extensions")))
			}
			if err := conn.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// session is one run of the client: the test types on its stdin and reads
// its stdout line by line.
type session struct {
	t      *testing.T
	stdin  *io.PipeWriter
	lines  chan string // stdout; closed once run has returned
	status chan int    // run's result
}

// start runs the client with args in a goroutine.
func start(t *testing.T, ctx context.Context, args ...string) *session {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &session{t: t, stdin: inW, lines: make(chan string, 64), status: make(chan int, 1)}
	go func() {
		status := run(ctx, args, inR, outW, testLog{t})
		outW.Close()
		s.status <- status
	}()
	go func() {
		defer close(s.lines)
		scanner := bufio.NewScanner(outR)
		for scanner.Scan() {
			s.lines <- scanner.Text()
		}
	}()
	// Ending stdin lets the client's line reader go, once run has returned.
	t.Cleanup(func() { inW.Close() })
	return s
}

// testLog is the client's stderr: the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// typeLine writes a line on the client's stdin.
func (s *session) typeLine(line string) {
	s.t.Helper()
	_, err := io.WriteString(s.stdin, line+"\n")
	require.NoError(s.t, err)
}

// wantLine waits for the client's next line of output.
func (s *session) wantLine(want string) {
	s.t.Helper()
	select {
	case got, ok := <-s.lines:
		require.True(s.t, ok, "the output ended before %q", want)
		assert.Equal(s.t, want, got)
	case <-time.After(maxWait):
		s.t.Fatalf("no output line %q within %v", want, maxWait)
	}
}

// wantEnd waits for the client to exit, checks its exit status and returns
// its last line of output, which tells how the connection ended.
func (s *session) wantEnd(wantStatus int) string {
	s.t.Helper()
	var rest []string
	timeout := time.After(maxWait)
	for ended := false; !ended; {
		select {
		case line, ok := <-s.lines:
			if !ok {
				ended = true
				break
			}
			rest = append(rest, line)
		case <-timeout:
			s.t.Fatalf("the client did not exit within %v; its output: %q", maxWait, rest)
		}
	}
	assert.Equal(s.t, wantStatus, <-s.status) // sent before lines closed
	require.NotEmpty(s.t, rest, "no line telling how the connection ended")
	return rest[len(rest)-1]
}

func TestEchoThenEOF(t *testing.T) {
	s := start(t, context.Background(), echoServer(t))
	s.typeLine("hello")
	s.wantLine("hello")
	s.typeLine("héllo, wörld")
	s.wantLine("héllo, wörld")
	// Ctrl-D: Close(1000, "bye"), which the server echoes.
	require.NoError(t, s.stdin.Close())
	assert.Equal(t, `closed: code 1000 (normal closure), reason "bye", wasClean true, initiator local`, s.wantEnd(0))
}

func TestEOFAfterLines(t *testing.T) {
	// Lines and EOF at once, as from a pipe: the handshake is clean. Which
	// echoes get printed is not certain: Close discards the messages that
	// arrive while the reader is between two reads.
	url := echoServer(t)
	var out strings.Builder
	status := run(context.Background(), []string{url}, strings.NewReader("a\nb\nc\n"), &out, testLog{t})
	assert.Equal(t, 0, status)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	last := len(lines) - 1
	assert.Equal(t, `closed: code 1000 (normal closure), reason "bye", wasClean true, initiator local`, lines[last])
	echoes := lines[:last]
	assert.Subset(t, []string{"a", "b", "c"}, echoes, "nothing but echoes before the end")
	assert.IsIncreasing(t, echoes, "echoes in the order sent")
}

func TestServerCloses(t *testing.T) {
	s := start(t, context.Background(), echoServer(t))
	s.typeLine("/close")
	assert.Equal(t, `closed: code 4001 (private), reason "bye", wasClean true, initiator peer`, s.wantEnd(0))
}

func TestServerTerminates(t *testing.T) {
	s := start(t, context.Background(), echoServer(t))
	s.typeLine("/terminate")
	// The error is the read's: EOF, or a reset on some systems.
	last := s.wantEnd(1)
	assert.True(t, strings.HasPrefix(last, `closed: code 1006 (abnormal closure), reason "", wasClean false, initiator peer, err: websocket: read: `), last)
}

func TestInterrupt(t *testing.T) {
	// A signal cancels run's context: Close(1001, "interrupted").
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := start(t, ctx, echoServer(t))
	s.typeLine("still there?")
	s.wantLine("still there?")
	cancel()
	assert.Equal(t, `closed: code 1001 (going away), reason "interrupted", wasClean true, initiator local`, s.wantEnd(0))
}

func TestFlags(t *testing.T) {
	url := echoServer(t)
	origin := "http" + strings.TrimPrefix(url, "ws")
	for _, c := range []struct {
		compress, offer string
	}{
		{"off", ""},
		{"no-context", "permessage-deflate; client_no_context_takeover; server_no_context_takeover; client_max_window_bits"},
		{"context", "permessage-deflate; client_max_window_bits"},
	} {
		t.Run(c.compress, func(t *testing.T) {
			s := start(t, context.Background(), "-subprotocol", "chat", "-origin", origin, "-compress", c.compress, "-timeout", "2s", url)
			s.typeLine("/negotiated")
			s.wantLine(fmt.Sprintf("subprotocol %q, extensions %q", "chat", c.offer))
			long := strings.Repeat("compress me ", 100)
			s.typeLine(long) // compressed both ways when negotiated
			s.wantLine(long)
			require.NoError(t, s.stdin.Close())
			assert.Equal(t, `closed: code 1000 (normal closure), reason "bye", wasClean true, initiator local`, s.wantEnd(0))
		})
	}
}

func TestForeignOrigin(t *testing.T) {
	// The server's default origin check refuses a page from another host.
	var errs strings.Builder
	status := run(context.Background(), []string{"-origin", "https://elsewhere.example", echoServer(t)}, strings.NewReader(""), io.Discard, &errs)
	assert.Equal(t, 1, status)
	assert.Contains(t, errs.String(), "403 Forbidden")
}

func TestBinaryMessages(t *testing.T) {
	var out strings.Builder
	printMessage(&out, websocket.BinaryMessage, []byte{0, 1, 0xff})
	printMessage(&out, websocket.BinaryMessage, make([]byte, 40))
	printMessage(&out, websocket.TextMessage, []byte("text"))
	assert.Equal(t, "[binary, 3 bytes: 0001ff]\n"+
		"[binary, 40 bytes: "+strings.Repeat("00", 32)+"...]\n"+
		"text\n", out.String())
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"ws://127.0.0.1:1/ws", "extra"},
		{"-compress", "maybe", "ws://127.0.0.1:1/ws"},
		{"-no-such-flag", "ws://127.0.0.1:1/ws"},
	} {
		status := run(context.Background(), args, strings.NewReader(""), io.Discard, io.Discard)
		assert.Equal(t, 2, status, "%q", args)
	}
}

func TestRefused(t *testing.T) {
	// A server that answers with an HTTP error: the dial fails, status 1.
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	var errs strings.Builder
	status := run(context.Background(), []string{"ws" + strings.TrimPrefix(srv.URL, "http")}, strings.NewReader(""), io.Discard, &errs)
	assert.Equal(t, 1, status)
	assert.Contains(t, errs.String(), "404 Not Found")
}
