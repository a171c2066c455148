package main

import (
	"bufio"
	"go/format"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitLimit bounds every wait on a ported program: its start, a line of
// its output, its exit.
const waitLimit = 30 * time.Second

// portForTest ports the named example into a directory of the test's and
// checks what every port must be: formatted as gofmt would, free of the
// upstream import path, and clean for go vet.
func portForTest(t *testing.T, name, upstreamImport string) string {
	t.Helper()
	root, err := repositoryRoot()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, port(examples[name], dir, root))

	goFiles, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	require.NotEmpty(t, goFiles)
	for _, file := range goFiles {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		formatted, err := format.Source(src)
		require.NoError(t, err, file)
		assert.Equal(t, string(formatted), string(src), "%s is not gofmt'ed: a rule's whitespace is off", file)
		assert.NotContains(t, string(src), upstreamImport, file)
	}
	_, err = runGo(dir, "vet", ".")
	require.NoError(t, err)
	return dir
}

// buildForTest builds the ported program in dir, with the race detector,
// and returns the binary's path.
func buildForTest(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ported")
	_, err := runGo(dir, "build", "-race", "-o", bin, ".")
	require.NoError(t, err)
	return bin
}

// A process is a ported program running for a test.
type process struct {
	cmd    *exec.Cmd
	lines  chan string   // its standard error, line by line
	exited chan struct{} // closed once it has exited and its output is read
	err    error         // how it exited, once exited is closed

	mu     sync.Mutex
	output strings.Builder // all it wrote, for failure messages
}

// startProcess runs bin with args in dir; the test's cleanup kills it if
// it still runs.
func startProcess(t *testing.T, bin, dir string, args ...string) *process {
	t.Helper()
	p := &process{
		cmd:    exec.Command(bin, args...),
		lines:  make(chan string, 1024),
		exited: make(chan struct{}),
	}
	p.cmd.Dir = dir
	stderr, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() {
		p.readLines(stderr)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		// Killed, a race-detector build cannot fail by its exit status.
		assert.NotContains(t, p.log(), "WARNING: DATA RACE")
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(bin), p.log())
		}
	})
	return p
}

// readLines passes on what the process writes until it closes its end.
func (p *process) readLines(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		p.mu.Lock()
		p.output.WriteString(sc.Text() + "\n")
		p.mu.Unlock()
		select {
		case p.lines <- sc.Text():
		default: // nobody waits for lines this late; the log keeps them
		}
	}
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// waitLine returns the first line of output, from here on, that starts
// with prefix.
func (p *process) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case line := <-p.lines:
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-p.exited:
			t.Fatalf("exited (%v) before writing a line starting %q", p.err, prefix)
		case <-timeout:
			t.Fatalf("no line starting %q within %v", prefix, waitLimit)
		}
	}
}

// waitExit waits for the process to exit and returns how it did.
func (p *process) waitExit(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(waitLimit):
		t.Fatalf("still running after %v", waitLimit)
		return nil
	}
}
