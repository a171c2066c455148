package main

import (
	"bufio"
	"context"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a chat process may take to print its
// addresses, and exitTimeout how long it may take to exit once signalled.
const (
	startTimeout = 30 * time.Second
	exitTimeout  = 20 * time.Second
)

// buildChat compiles the chat command into a temporary directory, so that
// the test runs it as a deploy would: separate processes, real signals.
func buildChat(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chat")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// chatProcess is one running chat command and the addresses it printed.
type chatProcess struct {
	cmd     *exec.Cmd
	httpURL string // http://127.0.0.1:PORT/
	natsURL string // set when it started an embedded NATS server
	exited  chan error
}

// startChat runs bin with args and waits for it to say where it listens.
// The process is killed at the end of the test if it is still running.
func startChat(t *testing.T, bin string, args ...string) *chatProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &chatProcess{cmd: cmd, exited: make(chan error, 1)}
	lines := make(chan string, 16)
	scanned := make(chan struct{})
	go func() {
		// Read stderr to its end, so the process never blocks on a full
		// pipe; lines past the first few are only logged.
		defer close(scanned)
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it whole first
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(exitTimeout):
			t.Errorf("chat process %d did not exit", cmd.Process.Pid)
		}
	})

	deadline := time.After(startTimeout)
	for p.httpURL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("chat %v exited before listening", args)
			}
			t.Logf("chat %d: %s", cmd.Process.Pid, line)
			switch {
			case strings.Contains(line, "msg=listening"):
				p.httpURL = logField(line, "url")
			case strings.Contains(line, `msg="embedded nats"`):
				p.natsURL = logField(line, "url")
			}
		case <-deadline:
			t.Fatalf("chat %v did not start within %v", args, startTimeout)
		}
	}
	return p
}

// logField returns the value of key in a line of slog's text format.
func logField(line, key string) string {
	_, rest, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	value, _, _ := strings.Cut(rest, " ")
	return value
}

// wsURL is the chat socket of p for room and name.
func (p *chatProcess) wsURL(room, name string) string {
	u, err := url.Parse(p.httpURL)
	if err != nil {
		panic(err)
	}
	u.Scheme = "ws"
	u.Path = "/ws"
	u.RawQuery = url.Values{"room": {room}, "name": {name}}.Encode()
	return u.String()
}

// terminate sends SIGTERM, as a deploy does, and waits for a clean exit.
func (p *chatProcess) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("chat exited with %v after SIGTERM", err)
		}
	case <-time.After(exitTimeout):
		t.Fatalf("chat did not exit within %v of SIGTERM", exitTimeout)
	}
}

// dialContext bounds a test's dial.
func dialContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
