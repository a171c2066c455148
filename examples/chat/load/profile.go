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

// chatProfilePath is where chat process i writes its profile.
func chatProfilePath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("chat%d.pprof", i))
}

// profiler starts and stops the measured window's CPU profiles: the load
// process's own, and the chat processes' when they were built for it.
type profiler struct {
	self    *os.File
	chatDir string
	procs   []*chatProc
}

// start begins the profiles that cfg asks for.
func startProfiles(cfg *config, procs []*chatProc) (*profiler, error) {
	p := &profiler{chatDir: cfg.chatProfile, procs: procs}
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		p.self = f
	}
	if p.chatDir != "" {
		for _, proc := range procs {
			_ = proc.cmd.Process.Signal(syscall.SIGUSR1)
		}
	}
	return p, nil
}

// stop ends the profiles and waits for the chat processes to have written
// theirs.
func (p *profiler) stop() error {
	var firstErr error
	if p.self != nil {
		pprof.StopCPUProfile()
		firstErr = p.self.Close()
	}
	if p.chatDir == "" {
		return firstErr
	}
	for _, proc := range p.procs {
		_ = proc.cmd.Process.Signal(syscall.SIGUSR2)
	}
	deadline := time.Now().Add(profileWait)
	for i := range p.procs {
		for {
			if _, err := os.Stat(chatProfilePath(p.chatDir, i)); err == nil {
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
