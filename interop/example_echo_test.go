package interop

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoProgram is examples/echo running as its own process.
type echoProgram struct {
	addr  string
	lines *queue[string] // what it logs, line by line
}

// startEchoProgram builds examples/echo from the main module and runs it on
// a free loopback port until the test ends.
func startEchoProgram(t *testing.T) *echoProgram {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "echo")
	build := exec.Command("go", "build", "-o", bin, "./examples/echo")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./examples/echo:\n%s", out)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	cmd := exec.Command(bin, "-addr", addr)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &echoProgram{addr: addr, lines: newQueue[string]()}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines.push(sc.Text())
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-readDone
		_ = cmd.Wait()
	})

	// The program offers no readiness signal but its listening socket:
	// try it until it answers, within a bound.
	deadline := time.Now().Add(eventTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "examples/echo is not listening on %s: %v", addr, err)
		tick := time.NewTimer(10 * time.Millisecond)
		<-tick.C
	}
	return p
}

// ended waits for the program's next "connection ended" log line.
func (p *echoProgram) ended(t *testing.T) string {
	t.Helper()
	for {
		line, ok := p.lines.pop(eventTimeout)
		require.True(t, ok, "examples/echo logged no end of a connection within %v", eventTimeout)
		if strings.Contains(line, "connection ended") {
			return line
		}
	}
}

// logLine waits for the n-th line (from 0) of the page's log with the CSS
// class kind ("open", "recv", "close", ...) and returns its text after the
// time and tag.
func logLine(t *testing.T, tab context.Context, kind string, n int) string {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const l = document.querySelectorAll("#log div.%s")[%d]; return l ? l.lastChild.textContent : ""; })()`, kind, n)
	text, err := chromedp.Run(tab, chromedp.Poll[string](expr,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(eventTimeout)))
	require.NoError(t, err, "waiting for %s line %d of the page's log", kind, n)
	return text
}

func state(t *testing.T, tab context.Context) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("state")))
	require.NoError(t, err)
	return s
}

func click(t *testing.T, tab context.Context, id string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.ID(id))), "clicking #%s", id)
}

func setValue(t *testing.T, tab context.Context, id, value string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.SetValue(chromedp.ID(id), value)), "setting #%s", id)
}

// Scenario 8: the examples/echo page, used as a person would: connect,
// send, end the connection each way from its buttons, and read its log.
func TestEchoExamplePage(t *testing.T) {
	requirePeer(t, chromium)
	p := startEchoProgram(t)
	tab := newTab(t)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate("http://"+p.addr+"/")))
	assert.Equal(t, "CLOSED", state(t, tab))

	connect := func(n int) {
		t.Helper()
		click(t, tab, "connect")
		assert.Equal(t, "connected", logLine(t, tab, "open", n))
		assert.Equal(t, "OPEN", state(t, tab))
		// Chromium offers permessage-deflate: the example may accept it
		// (Upgrader.Compression) or not. Either way the page works alike.
		ext, err := chromedp.Run(tab, chromedp.Evaluate[string]("ws.extensions"))
		require.NoError(t, err)
		if ext == "" {
			t.Logf("connection %d: no extension: examples/echo declines compression", n)
		} else {
			t.Logf("connection %d: ws.extensions is %q: examples/echo compresses", n, ext)
			assert.True(t, strings.HasPrefix(ext, "permessage-deflate"), "ws.extensions is %q", ext)
		}
	}

	// Echo, text and binary.
	connect(0)
	setValue(t, tab, "message", "hello, échos ✓")
	click(t, tab, "send-text")
	assert.Equal(t, `text "hello, échos ✓"`, logLine(t, tab, "recv", 0))
	setValue(t, tab, "message", "hi")
	click(t, tab, "send-binary")
	assert.Equal(t, "binary 2 bytes: 68 69", logLine(t, tab, "recv", 1))

	// Server Close with the page's code and reason.
	setValue(t, tab, "code", "4001")
	setValue(t, tab, "reason", "bye")
	click(t, tab, "server-close")
	assert.Equal(t, `code=4001 (private) reason="bye" wasClean=true`, logLine(t, tab, "close", 0))
	assert.Equal(t, "CLOSED", state(t, tab))
	// Chromium answers with the same code and reason.
	assert.Contains(t, p.ended(t), `code="4001 (private)" reason=bye wasClean=true initiator=local err=<nil>`)

	// Server Terminate.
	connect(1)
	click(t, tab, "server-terminate")
	assert.Equal(t, `code=1006 (abnormal closure) reason="" wasClean=false`, logLine(t, tab, "close", 1))
	assert.Contains(t, p.ended(t), `code="1006 (abnormal closure)" reason="" wasClean=false initiator=local err="websocket: connection terminated"`)

	// Browser close with a code and reason: the server echoes both.
	connect(2)
	setValue(t, tab, "code", "4002")
	setValue(t, tab, "reason", "see you")
	click(t, tab, "browser-close")
	assert.Equal(t, `code=4002 (private) reason="see you" wasClean=true`, logLine(t, tab, "close", 2))
	assert.Contains(t, p.ended(t), `code="4002 (private)" reason="see you" wasClean=true initiator=peer err=<nil>`)

	// Disconnect: ws.close() without a code; the server answers with an
	// empty close frame, which the browser reports as 1005.
	connect(3)
	click(t, tab, "disconnect")
	assert.Equal(t, `code=1005 (no status received) reason="" wasClean=true`, logLine(t, tab, "close", 3))
	assert.Contains(t, p.ended(t), `code="1005 (no status received)" reason="" wasClean=true initiator=peer err=<nil>`)
}
