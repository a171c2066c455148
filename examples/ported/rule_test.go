package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRuleAppliesOnlyToExactlyOneMatch(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string
	}{
		{name: "once", src: "a conn.Close() b", want: "a conn.Terminate() b"},
		{name: "never", src: "a conn.close() b", wantErr: "snippet not found"},
		{name: "twice", src: "conn.Close(); conn.Close()", wantErr: "found 2 times"},
	}
	r := rule{File: "client.go", Old: "conn.Close()", New: "conn.Terminate()"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.apply(tt.src)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.ErrorContains(t, err, "client.go")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestApplyRulesReportsEveryRuleThatFails(t *testing.T) {
	files := map[string]string{"a.go": "x y"}
	err := applyRules(files, []rule{
		{File: "a.go", Old: "x", New: "X"},
		{File: "a.go", Old: "z", New: "Z"},
		{File: "b.go", Old: "x", New: "X"},
		{File: "a.go", Old: "y", New: "Y"},
	})
	require.Error(t, err)
	assert.ErrorContains(t, err, `a.go: snippet not found: "z"`)
	assert.ErrorContains(t, err, "b.go: no such file upstream")
	assert.Equal(t, "X Y", files["a.go"], "the rules that apply are applied, in order")
}

// Every rule quotes the row of MIGRATING.md that justifies it: a rule the
// guide does not list, or a row since reworded, fails here.
func TestRulesQuoteMigratingMD(t *testing.T) {
	guide, err := os.ReadFile(filepath.Join("..", "..", "MIGRATING.md"))
	require.NoError(t, err)
	for _, name := range exampleNames() {
		ex := examples[name]
		require.NotEmpty(t, ex.Rules, name)
		for i, r := range ex.Rules {
			require.NotEmpty(t, r.Guide, "%s rule %d", name, i)
			assert.Contains(t, string(guide), r.Guide, "%s rule %d (%s) quotes no text of MIGRATING.md", name, i, r.File)
		}
	}
}

func TestReadmeShowsTheRules(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	assert.Contains(t, string(readme), rulesTable(), "README.md's table differs from the rules: paste go run . -rules")
}
