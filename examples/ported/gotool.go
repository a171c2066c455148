package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// goCommand returns the go command with args, to run in dir. GOWORK is
// off so that a workspace around dir cannot change which modules it sees.
func goCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	return cmd
}

// runGo runs the go command with args in dir and returns its standard
// output; a failure's error carries what it wrote to standard error.
func runGo(dir string, args ...string) ([]byte, error) {
	cmd := goCommand(dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}
