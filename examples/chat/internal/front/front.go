// Package front is a small round-robin reverse proxy: one address that
// stands for several chat processes, so that a page drained by one process
// (1012, then its reconnect) comes back through the same origin and lands
// on another.
//
// It is built on httputil.ReverseProxy, which passes WebSocket upgrades
// through: after the backend's 101 it copies the bytes both ways, close
// frames included, so the page hears the backend's own close code and
// sees a clean close. A backend that refuses (503, as a draining process
// does) or cannot be reached is skipped: the request is tried on the next
// backend before anything is written to the client.
package front

import (
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// dialTimeout bounds connecting to one backend, so that a backend that
// does not answer at all costs a request this much before the next one is
// tried, rather than the client's whole patience.
const dialTimeout = 2 * time.Second

// responseTimeout bounds the wait for a backend's response headers. The
// chat's answers (the page, a 101, a 503) are immediate; a backend that
// hangs is failed rather than holding the request.
const responseTimeout = 10 * time.Second

// Options adjusts a Proxy. The zero Options is ready to use.
type Options struct {
	// Observe, when set, is called for every attempt of every request, in
	// the order they are made, on the request's goroutine: it must return
	// quickly. The front command logs them; tests learn from them which
	// process a socket landed on.
	Observe func(Attempt)
	// ErrorLog receives ReverseProxy's own errors, such as a failed copy
	// of an upgraded connection. Nil logs with the log package.
	ErrorLog *log.Logger
}

// Proxy is an http.Handler that forwards each request to one of its
// backends, round-robin, skipping those that refuse or cannot be reached.
// Safe from any number of goroutines.
type Proxy struct {
	rp        *httputil.ReverseProxy
	transport *http.Transport
}

// New returns a Proxy for backends, plain-HTTP base URLs such as
// http://127.0.0.1:8081 (see ParseBackends). It keeps no state about the
// backends' health: each request asks them in turn, so a backend that
// comes back is used again at once.
func New(backends []*url.URL, opts Options) (*Proxy, error) {
	if err := checkBackends(backends); err != nil {
		return nil, err
	}
	transport := &http.Transport{
		// No Proxy: the backends are local, whatever HTTP_PROXY says.
		DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
		ResponseHeaderTimeout: responseTimeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       30 * time.Second,
	}
	rt := newRoundRobin(backends, transport, opts.Observe)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The backend is chosen per attempt by the transport; this
			// only makes the URL absolute.
			pr.Out.URL.Scheme = backends[0].Scheme
			pr.Out.URL.Host = backends[0].Host
			// Keep the client's Host (ProxyRequest.SetURL, the usual
			// way, would replace it with the backend's): the backend's
			// Upgrader accepts a browser's upgrade only when its Origin
			// names the host the request was sent to, the front's.
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: rt,
		ErrorLog:  opts.ErrorLog,
		// The transport returns an error only when no backend answered:
		// each attempt has been reported to Observe already.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "no chat process could be reached", http.StatusBadGateway)
		},
	}
	return &Proxy{rp: rp, transport: transport}, nil
}

// ServeHTTP forwards r to a backend, or answers 502 Bad Gateway when none
// could be reached, or the last 503 when every backend refused.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.rp.ServeHTTP(w, r)
}

// CloseIdleConnections closes the kept-alive connections to the backends.
// Upgraded connections are not idle: they end when either side closes.
func (p *Proxy) CloseIdleConnections() {
	p.transport.CloseIdleConnections()
}
