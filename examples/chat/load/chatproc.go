package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// chatPackage is the chat command the load run builds.
const chatPackage = "github.com/a60656ec/websocket/examples/chat"

// buildChat compiles the chat command to out. overlay, when not empty, is
// a go build -overlay file: it adds the profiling hook (profile.go)
// without touching the chat's sources.
func buildChat(ctx context.Context, out, overlay string) error {
	args := []string{"build", "-o", out}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, chatPackage)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", chatPackage, err, msg)
	}
	return nil
}

// chatProc is one running chat process, the addresses it printed, and
// what its log says the run did to its members.
type chatProc struct {
	cmd     *exec.Cmd
	wsBase  string // ws://127.0.0.1:PORT/ws
	natsURL string // set when it embeds the NATS server
	exited  chan struct{}
	waitErr error // set before exited is closed

	mu         sync.Mutex
	terminated int64    // members its broadcasts terminated: a write past the 5 s timeout
	failed     int64    // members whose write failed otherwise
	warnings   []string // its first WARN and ERROR lines
}

// maxWarnings is how many warning lines of a process are kept to report.
const maxWarnings = 5

// startChat runs bin with args, with the extra environment env, and waits,
// up to timeout, for it to print where it listens.
func startChat(bin string, env []string, timeout time.Duration, args ...string) (*chatProc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &chatProc{cmd: cmd, exited: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		p.readLog(stderr, ready)
		p.waitErr = cmd.Wait() // after the pipe is read to its end, as Wait needs
		close(p.exited)
	}()
	select {
	case <-ready:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("chat %v exited before listening: %v %v", args, p.waitErr, p.warnings)
	case <-time.After(timeout):
		p.stop(time.Second)
		return nil, fmt.Errorf("chat %v did not listen within %v", args, timeout)
	}
}

// readLog reads the process's log to its end, so that it never blocks on
// a full pipe: it takes the addresses from the first lines, closing ready
// once it has the HTTP one, and then counts what broadcasts report.
func (p *chatProc) readLog(r interface{ Read([]byte) (int, error) }, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case p.wsBase == "" && strings.Contains(line, "msg=listening"):
			u, err := url.Parse(logField(line, "url"))
			if err == nil {
				p.wsBase = "ws://" + u.Host + "/ws"
				close(ready)
			}
		case p.natsURL == "" && strings.Contains(line, `msg="embedded nats"`):
			p.natsURL = logField(line, "url")
		case strings.Contains(line, "msg=broadcast "):
			t, _ := strconv.ParseInt(logField(line, "terminated"), 10, 64)
			f, _ := strconv.ParseInt(logField(line, "failed"), 10, 64)
			p.mu.Lock()
			p.terminated += t
			p.failed += f
			p.mu.Unlock()
		case strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR"):
			p.mu.Lock()
			if len(p.warnings) < maxWarnings {
				p.warnings = append(p.warnings, line)
			}
			p.mu.Unlock()
		}
	}
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

// dropped returns what the process's broadcasts reported so far: members
// terminated by the write timeout, members whose write failed, and the
// first warnings.
func (p *chatProc) dropped() (terminated, failed int64, warnings []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.terminated, p.failed, append([]string(nil), p.warnings...)
}

// pid is the process's id.
func (p *chatProc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM, as a deploy does, and kills the process if it has
// not exited within grace. It reports whether SIGTERM sufficed.
func (p *chatProc) stop(grace time.Duration) bool {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return true
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return false
}

// startChats starts the three processes: the first embeds NATS, the
// other two join it. envFor, when not nil, adds to the environment of
// process i.
func startChats(bin string, envFor func(i int) []string, timeout time.Duration) ([]*chatProc, error) {
	env := func(i int) []string {
		if envFor == nil {
			return nil
		}
		return envFor(i)
	}
	first, err := startChat(bin, env(0), timeout, "-addr", "127.0.0.1:0", "-nats-listen", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	procs := []*chatProc{first}
	if first.natsURL == "" {
		stopAll(procs, time.Second)
		return nil, errors.New("the first chat process did not say where its NATS server listens")
	}
	for i := 1; i < 3; i++ {
		p, err := startChat(bin, env(i), timeout, "-addr", "127.0.0.1:0", "-nats", first.natsURL)
		if err != nil {
			stopAll(procs, time.Second)
			return nil, err
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// stopAll stops the processes: the ones that joined NATS first, all at
// once, then the one that embeds it, which the others need until they
// have flushed their last events. It returns how many needed a kill.
func stopAll(procs []*chatProc, grace time.Duration) int {
	if len(procs) == 0 {
		return 0
	}
	var killed atomic.Int64
	var wg sync.WaitGroup
	for _, p := range procs[1:] {
		wg.Go(func() {
			if !p.stop(grace) {
				killed.Add(1)
			}
		})
	}
	wg.Wait()
	if !procs[0].stop(grace) {
		killed.Add(1)
	}
	return int(killed.Load())
}
