package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPageServed checks that / serves the embedded page, with the pieces
// the README promises: the close-event log and reconnects on 1001, 1006,
// 1012 and 1013.
func TestPageServed(t *testing.T) {
	p := newTestProcess(t, startTestNATS(t))
	resp, err := http.Get(p.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s, %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"new WebSocket(", "wasClean", "[1001, 1006, 1012, 1013]"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
