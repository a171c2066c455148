package main

import (
	"fmt"
	"strings"
)

// A rule is one edit of an upstream file: the old snippet, found exactly
// once, becomes the new one. Guide names the row (or sentence) of
// MIGRATING.md that asks for the edit, quoted exactly, so that every edit
// of a port is one the guide tells its reader to make.
type rule struct {
	File  string
	Old   string
	New   string
	Guide string
}

// apply returns src with the rule's edit made. An old snippet found
// never or more than once is an error, not a guess: it means upstream
// changed or the rule is wrong, and either way the port proves nothing.
func (r rule) apply(src string) (string, error) {
	switch n := strings.Count(src, r.Old); n {
	case 1:
		return strings.Replace(src, r.Old, r.New, 1), nil
	case 0:
		return "", fmt.Errorf("%s: snippet not found: %q", r.File, r.Old)
	default:
		return "", fmt.Errorf("%s: snippet found %d times, want once: %q", r.File, n, r.Old)
	}
}
