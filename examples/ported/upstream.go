package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// upstreamFiles returns the files of the example's upstream folder, by
// name, as the module proxy serves them (through the module cache).
func upstreamFiles(ex example) (map[string]string, error) {
	moduleDir, err := downloadModule(ex.Module + "@" + ex.Version)
	if err != nil {
		return nil, err
	}
	folder := filepath.Join(moduleDir, filepath.FromSlash(ex.Folder))
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil, err
	}
	files := make(map[string]string)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // the examples are flat; nothing below them is theirs
		}
		b, err := os.ReadFile(filepath.Join(folder, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = string(b)
	}
	return files, nil
}

// downloadModule fetches module@version into the module cache, unless it
// is there already, and returns its directory.
func downloadModule(moduleAtVersion string) (string, error) {
	// Outside any module, so that no go.mod is read or changed.
	out, err := runGo(os.TempDir(), "mod", "download", "-json", moduleAtVersion)
	if err != nil {
		return "", err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", moduleAtVersion, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", moduleAtVersion, info.Error)
	}
	return info.Dir, nil
}
