package front

import (
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
)

// Attempt is one try of a request on one backend, as Options.Observe
// hears of it.
type Attempt struct {
	// Request is the request as sent to Backend.
	Request *http.Request
	// Backend is the backend tried.
	Backend *url.URL
	// Status is the backend's status code, 0 when it could not be
	// reached or failed before answering.
	Status int
	// Err says why the backend could not be reached or did not answer.
	Err error
	// Retried is true when the front went on to the next backend.
	Retried bool
}

// Upgrade reports whether the attempt was a WebSocket (or other) upgrade:
// ReverseProxy keeps the Upgrade header only on those.
func (a Attempt) Upgrade() bool { return a.Request.Header.Get("Upgrade") != "" }

// roundRobin is the proxy's transport: it picks a backend for each
// request, round-robin, and tries the next one when it refuses or cannot
// be reached. It does so inside RoundTrip, so ReverseProxy has written
// nothing to the client yet when a backend is skipped.
type roundRobin struct {
	backends []*url.URL
	base     http.RoundTripper
	observe  func(Attempt)
	// Upgrades take turns apart from other requests: the sockets are what
	// loads a chat process, and a page load between two sockets would
	// otherwise shift whose turn it is, so that two pages opened one after
	// the other could put both their sockets on the same process.
	nextUpgrade, nextOther atomic.Uint64
}

func newRoundRobin(backends []*url.URL, base http.RoundTripper, observe func(Attempt)) *roundRobin {
	if observe == nil {
		observe = func(Attempt) {}
	}
	return &roundRobin{backends: backends, base: base, observe: observe}
}

// RoundTrip sends req to the backend whose turn it is and, when that one
// refuses with 503 or cannot be reached, to the next, until one answers
// otherwise or each has been tried once. When none did, it returns the
// last 503, so the client hears "try again later", or, if no backend
// answered at all, the last error, which ReverseProxy turns into 502.
func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	cursor := &rr.nextOther
	if req.Header.Get("Upgrade") != "" {
		cursor = &rr.nextUpgrade
	}
	n := len(rr.backends)
	first := int((cursor.Add(1) - 1) % uint64(n))
	tries := n
	if !replayable(req) {
		tries = 1
	}

	var refused *http.Response // the latest 503, kept in case all refuse
	var lastErr error
	for i := range tries {
		backend := rr.backends[(first+i)%n]
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host = backend.Scheme, backend.Host
		resp, err := rr.base.RoundTrip(out)
		last := i == tries-1 || req.Context().Err() != nil

		if err == nil && resp.StatusCode != http.StatusServiceUnavailable {
			rr.observe(Attempt{Request: out, Backend: backend, Status: resp.StatusCode})
			discard(refused)
			return resp, nil
		}
		a := Attempt{Request: out, Backend: backend, Err: err, Retried: !last}
		if err != nil {
			lastErr = err
		} else {
			a.Status = resp.StatusCode
			discard(refused)
			refused = resp
		}
		rr.observe(a)
		if last {
			break
		}
	}
	if refused != nil {
		return refused, nil
	}
	return nil, lastErr
}

// replayable reports whether req may be sent to another backend after a
// first one failed: it has no body, which the first attempt would have
// consumed, and its method changes nothing, so that a backend that failed
// after acting on it does not make it act twice. A WebSocket upgrade is a
// GET without a body, so a draining process's 503 costs the page nothing:
// the same request goes to the next process.
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// discard reads what is left of a response it will not forward, so that
// its connection can be kept alive, and closes it.
func discard(resp *http.Response) {
	if resp == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
}
