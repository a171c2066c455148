package front

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestRoundRobin checks that requests go to the backends in turn.
func TestRoundRobin(t *testing.T) {
	a, b, c := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")
	front, _ := startFront(t, a.url, b.url, c.url)
	var got []string
	for range 6 {
		status, body := get(t, front.URL+"/")
		if status != http.StatusOK {
			t.Fatalf("GET /: %d %q", status, body)
		}
		got = append(got, body)
	}
	if want := []string{"a", "b", "c", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("answered by %q, want %q", got, want)
	}
}

// TestUpgradesTakeTheirOwnTurns checks that page loads between two sockets
// do not put both sockets on one backend: the chat's two pages, opened one
// after the other, each load the page and then open a socket.
func TestUpgradesTakeTheirOwnTurns(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	front, _ := startFront(t, a.url, b.url)
	var sockets []string
	for range 2 {
		if status, _ := get(t, front.URL+"/"); status != http.StatusOK {
			t.Fatalf("GET /: %d", status)
		}
		_, name := dialThrough(t, front)
		sockets = append(sockets, name)
	}
	if want := []string{"a", "b"}; !slices.Equal(sockets, want) {
		t.Errorf("sockets on %q, want %q", sockets, want)
	}
}

// TestSkipsRefusingBackend checks that a backend answering 503 is skipped,
// for a page load and for an upgrade alike, without the client seeing it.
func TestSkipsRefusingBackend(t *testing.T) {
	refusing, refused := refusingBackend(t)
	b := startBackend(t, "b")
	front, rec := startFront(t, refusing, b.url)
	for range 2 {
		if status, body := get(t, front.URL+"/"); status != http.StatusOK || body != "b" {
			t.Errorf("GET /: %d %q, want 200 from b", status, body)
		}
	}
	if _, name := dialThrough(t, front); name != "b" {
		t.Errorf("socket on %q, want b", name)
	}
	// The first GET and the first upgrade had the refusing backend's turn.
	if n := refused.count(); n != 2 {
		t.Errorf("the refusing backend saw %d requests, want 2", n)
	}
	var skipped int
	for _, a := range rec.all() {
		if a.Backend == refusing {
			skipped++
			if a.Status != http.StatusServiceUnavailable || !a.Retried {
				t.Errorf("attempt on the refusing backend: %+v, want a retried 503", a)
			}
		}
	}
	if skipped != 2 {
		t.Errorf("%d attempts on the refusing backend, want 2", skipped)
	}
}

// TestSkipsDrainingProcess checks the chat's case: a backend whose
// Group is shutting down refuses the upgrade with 503, and the socket
// lands on the next one.
func TestSkipsDrainingProcess(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	front, _ := startFront(t, a.url, b.url)
	if _, err := a.group.Shutdown(t.Context(), 0, ""); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, name := dialThrough(t, front); name != "b" {
			t.Errorf("socket on %q, want b: a is draining", name)
		}
	}
}

// TestSkipsDeadBackend checks that a backend nothing listens on is skipped,
// and that its turn goes to the next backend.
func TestSkipsDeadBackend(t *testing.T) {
	dead := deadBackend(t)
	b, c := startBackend(t, "b"), startBackend(t, "c")
	front, rec := startFront(t, dead, b.url, c.url)
	var got []string
	for range 4 {
		status, body := get(t, front.URL+"/")
		if status != http.StatusOK {
			t.Fatalf("GET /: %d %q", status, body)
		}
		got = append(got, body)
	}
	// Turns: dead (so b), b, c, dead (so b).
	if want := []string{"b", "b", "c", "b"}; !slices.Equal(got, want) {
		t.Errorf("answered by %q, want %q", got, want)
	}
	for _, a := range rec.all() {
		if a.Backend == dead && (a.Err == nil || !a.Retried) {
			t.Errorf("attempt on the dead backend: %+v, want an error, retried", a)
		}
	}
}

// TestAllBackendsDown checks what the client hears when no backend takes
// the request: 503 when one at least refused (draining processes: try
// again later), 502 when none could be reached.
func TestAllBackendsDown(t *testing.T) {
	refusing, _ := refusingBackend(t)
	for _, tc := range []struct {
		name     string
		backends []string // "dead" or "refusing"
		want     int
	}{
		{"all dead", []string{"dead", "dead"}, http.StatusBadGateway},
		{"all refusing", []string{"refusing", "refusing"}, http.StatusServiceUnavailable},
		{"dead then refusing", []string{"dead", "refusing"}, http.StatusServiceUnavailable},
		{"refusing then dead", []string{"refusing", "dead"}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var backends []*url.URL
			for _, kind := range tc.backends {
				if kind == "dead" {
					backends = append(backends, deadBackend(t))
				} else {
					backends = append(backends, refusing)
				}
			}
			front, rec := startFront(t, backends...)
			// Twice: each backend has the first turn once.
			for range 2 {
				if status, body := get(t, front.URL+"/"); status != tc.want {
					t.Errorf("GET /: %d %q, want %d", status, body, tc.want)
				}
			}
			if n := len(rec.all()); n != 4 {
				t.Errorf("%d attempts, want each backend tried for each request: 4", n)
			}
			// The page's socket hears the same: its upgrade fails.
			resp := dialRefused(t, front)
			if resp.StatusCode != tc.want {
				t.Errorf("upgrade: %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// TestBodyNotReplayed checks that a request with a body goes to one
// backend only: the first attempt consumed it.
func TestBodyNotReplayed(t *testing.T) {
	refusing, refused := refusingBackend(t)
	b := startBackend(t, "b")
	front, _ := startFront(t, refusing, b.url)
	if status, _ := do(t, http.MethodPost, front.URL+"/", "hi"); status != http.StatusServiceUnavailable {
		t.Errorf("POST on the refusing backend's turn: %d, want its 503", status)
	}
	if status, body := do(t, http.MethodPost, front.URL+"/", "hi"); status != http.StatusOK || body != "b got hi" {
		t.Errorf("POST on b's turn: %d %q", status, body)
	}
	if n := refused.count(); n != 1 {
		t.Errorf("the refusing backend saw %d requests, want 1", n)
	}
}

// TestParseBackends checks the -backends flag's forms.
func TestParseBackends(t *testing.T) {
	got, err := ParseBackends("127.0.0.1:8081, http://127.0.0.1:8082/")
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, u := range got {
		hosts = append(hosts, u.Scheme+"://"+u.Host)
	}
	if want := []string{"http://127.0.0.1:8081", "http://127.0.0.1:8082"}; !slices.Equal(hosts, want) {
		t.Errorf("got %q, want %q", hosts, want)
	}
	for _, bad := range []string{"", "127.0.0.1", "https://127.0.0.1:1", "127.0.0.1:1/chat", "127.0.0.1:1?x=y"} {
		if _, err := ParseBackends(bad); err == nil {
			t.Errorf("ParseBackends(%q) accepted it", bad)
		}
	}
}
