package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// chatHook is a file the chat is built with for -chatprofile: it starts a
// CPU profile on SIGUSR1 and writes it on SIGUSR2. The chat has no
// profiling flag of its own, and the load run does not change the chat:
// go build -overlay adds the file to the build alone.
//
//go:embed chathook.go.txt
var chatHook []byte

// profileEnv names, in the environment of each chat process, where it
// writes its profile.
const profileEnv = "CHAT_LOAD_CPUPROFILE"

// profileWait bounds how long a chat process may take to write its
// profile once told to.
const profileWait = 10 * time.Second

// buildProfiledChat builds the chat with chatHook added, into dir.
func buildProfiledChat(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", chatPackage).Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %w", chatPackage, err)
	}
	hook := filepath.Join(dir, "loadhook.go")
	if err := os.WriteFile(hook, chatHook, 0o644); err != nil {
		return "", err
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {
		filepath.Join(strings.TrimSpace(string(out)), "zz_loadhook.go"): hook}})
	if err != nil {
		return "", err
	}
	overlayPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "chat")
	return bin, buildChat(ctx, bin, overlayPath)
}

// chatProfilePath is where chat process i writes its profile, to be
// moved into the directory of the phase it covers.
func chatProfilePath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf(".chat%d.pprof", i))
}

// profiler takes CPU profiles of the run's phases, each into a directory
// of its own under dir: the load process's (load.pprof) and the chat
// processes' (chat0.pprof, ...), when they were built for it. A nil
// profiler takes none.
type profiler struct {
	dir   string
	procs []*chatProc
	phase string
	self  *os.File
}

// newProfiler returns a profiler writing under dir, or nil for no dir.
func newProfiler(dir string, procs []*chatProc) *profiler {
	if dir == "" {
		return nil
	}
	return &profiler{dir: dir, procs: procs}
}

// start begins the profiles of phase.
func (p *profiler) start(phase string) error {
	if p == nil {
		return nil
	}
	p.phase = filepath.Join(p.dir, phase)
	if err := os.MkdirAll(p.phase, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(p.phase, "load.pprof"))
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.self = f
	for _, proc := range p.procs {
		_ = proc.cmd.Process.Signal(syscall.SIGUSR1)
	}
	return nil
}

// stop ends the phase's profiles and waits for the chat processes to
// have written theirs.
func (p *profiler) stop() error {
	if p == nil || p.self == nil {
		return nil
	}
	pprof.StopCPUProfile()
	firstErr := p.self.Close()
	p.self = nil
	for _, proc := range p.procs {
		_ = proc.cmd.Process.Signal(syscall.SIGUSR2)
	}
	deadline := time.Now().Add(profileWait)
	for i := range p.procs {
		for {
			err := os.Rename(chatProfilePath(p.dir, i), filepath.Join(p.phase, fmt.Sprintf("chat%d.pprof", i)))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				if firstErr == nil {
					firstErr = fmt.Errorf("chat process %d wrote no profile within %v", i, profileWait)
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return firstErr
}
