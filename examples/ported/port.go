package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// libraryModule is the module path of the package the examples are
// ported to.
const libraryModule = "github.com/a60656ec/websocket"

// port writes ex into dir, ported: the upstream folder's files with the
// rules applied, and a go.mod that takes the WebSocket package from the
// repository at root. dir is created if need be; files in it that the
// port writes are replaced.
func port(ex example, dir, root string) error {
	files, err := upstreamFiles(ex)
	if err != nil {
		return fmt.Errorf("%s: %w", ex.Name, err)
	}
	if err := applyRules(files, ex.Rules); err != nil {
		return fmt.Errorf("%s: %w", ex.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return writeModule(ex, dir, root)
}

// applyRules edits files in place, rule by rule, and reports every rule
// that does not apply rather than stopping at the first.
func applyRules(files map[string]string, rules []rule) error {
	var errs []error
	for _, r := range rules {
		src, ok := files[r.File]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no such file upstream", r.File))
			continue
		}
		out, err := r.apply(src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files[r.File] = out
	}
	return errors.Join(errs...)
}

// writeModule writes the port's go.mod, which replaces the WebSocket
// module by the repository at root, seeds go.sum with the repository's,
// and lets go mod tidy complete both.
func writeModule(ex example, dir, root string) error {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	var mod bytes.Buffer
	fmt.Fprintf(&mod, "module ported/%s\n\ngo 1.25.0\n\nrequire (\n", ex.Name)
	requires := append([]string{libraryModule + "@v0.0.0"}, ex.Requires...)
	sort.Strings(requires)
	for _, req := range requires {
		path, version, ok := strings.Cut(req, "@")
		if !ok {
			return fmt.Errorf("%s: requirement %q has no @version", ex.Name, req)
		}
		fmt.Fprintf(&mod, "\t%s %s\n", path, version)
	}
	fmt.Fprintf(&mod, ")\n\nreplace %s => %s\n", libraryModule, absRoot)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), mod.Bytes(), 0o644); err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(absRoot, "go.sum"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		return err
	}
	_, err = runGo(dir, "mod", "tidy")
	return err
}

// repositoryRoot returns the root of the repository this module lives in,
// two levels above its go.mod, after checking that it holds the
// WebSocket module.
func repositoryRoot() (string, error) {
	out, err := runGo(".", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run this from within its module, examples/ported")
	}
	root := filepath.Join(filepath.Dir(gomod), "..", "..")
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(string(rootMod), "module "+libraryModule+"\n") {
		return "", fmt.Errorf("%s is not the root of %s", root, libraryModule)
	}
	return filepath.Clean(root), nil
}
