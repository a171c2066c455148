package main

import (
	"fmt"
	"strings"
)

// rulesTable returns every example's rules as a Markdown table, one row
// a rule: where, the edit, and the guide's row that asks for it.
func rulesTable() string {
	var b strings.Builder
	b.WriteString("| example | file | upstream | ported | MIGRATING.md |\n|---|---|---|---|---|\n")
	for _, name := range exampleNames() {
		for _, r := range examples[name].Rules {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n",
				name, r.File, codeCell(r.Old), codeCell(r.New), guideCell(r.Guide))
		}
	}
	return b.String()
}

// codeCell shows a snippet in a table cell: as HTML code, since a Markdown
// code span cannot hold a line break, its lines joined by " ⏎ ", and an
// empty snippet as "(deleted)".
func codeCell(snippet string) string {
	if snippet == "" {
		return "(deleted)"
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(snippet, "\n"), "\n") {
		lines = append(lines, strings.TrimSpace(line))
	}
	escape := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "&#124;")
	return "<code>" + escape.Replace(strings.Join(lines, " ⏎ ")) + "</code>"
}

// guideCell shows a quoted row of the guide as "old → new"; a quoted
// sentence stays as it is.
func guideCell(guide string) string {
	if !strings.HasPrefix(guide, "| ") {
		return guide
	}
	cells := strings.Split(strings.Trim(guide, "| "), " | ")
	return strings.Join(cells, " → ")
}
