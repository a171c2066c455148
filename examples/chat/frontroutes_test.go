package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/a60656ec/websocket/examples/chat/internal/front"
)

// socketRoutes records, from what the front reports, which backend each
// member's sockets went to, in order: the test learns from it which
// process holds a page.
type socketRoutes struct {
	mu     sync.Mutex
	byName map[string][]string // member name: backend hosts
}

func (r *socketRoutes) observe(a front.Attempt) {
	if !a.Upgrade() || a.Status != http.StatusSwitchingProtocols {
		return
	}
	name := a.Request.URL.Query().Get("name")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byName[name] = append(r.byName[name], a.Backend.Host)
}

// of returns the backends name's sockets went to, in order.
func (r *socketRoutes) of(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.byName[name])
}

// startFront serves, on 127.0.0.1, a front for the chat processes, in
// that order, and records where the sockets go.
func startFront(t *testing.T, procs ...*chatProcess) (*httptest.Server, *socketRoutes) {
	t.Helper()
	var backends []*url.URL
	for _, p := range procs {
		u, err := url.Parse(p.httpURL)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = ""
		backends = append(backends, u)
	}
	routes := &socketRoutes{byName: make(map[string][]string)}
	p, err := front.New(backends, front.Options{Observe: routes.observe})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		srv.Close()
		p.CloseIdleConnections()
	})
	return srv, routes
}

// host is the host:port a chat process serves on.
func (p *chatProcess) host(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(p.httpURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
