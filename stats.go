package websocket

import (
	"fmt"
	"maps"
	"sync"
	"time"
)

// Stats counts how connections open, what they carry and how they end:
// point an Upgrader's (or a Dialer's) Stats field at one, and read it with
// Snapshot at any time, for a dashboard, expvar or a metrics exporter.
// The zero value is ready; one Stats may serve several Upgraders and
// Dialers. Safe from any number of goroutines.
//
// Counting costs nothing that is shared per message: each connection
// counts its own traffic, and Stats adds it in when the connection ends
// and when a snapshot is taken. What is shared (a mutex) is taken once
// when a connection opens, once when it ends, and by Snapshot.
type Stats struct {
	mu     sync.Mutex
	live   map[*Conn]struct{}
	totals StatsSnapshot // of ended connections, and what is not per connection
}

// StatsSnapshot is what a Stats has counted, at one moment. Its maps are
// the caller's.
type StatsSnapshot struct {
	// Open is the number of connections open now; Opened counts every
	// connection opened. A connection is counted once Upgrade has written
	// its 101 response, so a client's Dial may return a moment before.
	// (One Stats may serve an Upgrader and a Dialer, but In, Out and
	// Initiator then mean different things for each: keep one per role.)
	Open   int
	Opened uint64
	// Refused counts handshakes refused, by HTTP status and reason. For a
	// Dialer, the status is the server's answer.
	Refused map[Refusal]uint64
	// Ended counts connections that have ended, by how.
	Ended map[Ending]uint64
	// CloseDurations are the closing handshakes' durations: from the
	// first close frame, sent or received, to TCP closed.
	CloseDurations Histogram
	// Traffic is what the connections carried, open and ended.
	Traffic Traffic
	// ServeFallbacks counts the connections Serve ran in a goroutine of
	// their own rather than on the poller: a stream that is not a socket
	// (TLS, an HTTP/2 stream), a platform without the poller, or the
	// poller unavailable (the per-user epoll watch limit).
	ServeFallbacks uint64
}

// Refusal is a kind of refused handshake.
type Refusal struct {
	Status int    // the HTTP status of the refusal
	Reason string // one of the Refusal constants
}

// The reasons of a Refusal: short, stable words fit for a metric's label.
const (
	RefusalMethod           = "method"            // 405: not a GET request (CONNECT over HTTP/2)
	RefusalHTTPVersion      = "http_version"      // 400: neither HTTP/1.1 nor HTTP/2
	RefusalProtocol         = "protocol"          // HTTP/2: 400 without :protocol, 501 for one other than websocket
	RefusalBody             = "body"              // 400: the request has a body (over HTTP/2: a length, or no stream)
	RefusalUpgradeHeader    = "upgrade_header"    // 400: Upgrade does not name websocket
	RefusalConnectionHeader = "connection_header" // 400: Connection does not name upgrade
	RefusalVersion          = "version"           // 426 (400 over HTTP/2): Sec-WebSocket-Version is not 13
	RefusalKey              = "key"               // 400: Sec-WebSocket-Key is missing or malformed
	RefusalOrigin           = "origin"            // 403: CheckOrigin refused the Origin
	RefusalShuttingDown     = "shutting_down"     // 503: the Group drains
	RefusalHijack           = "hijack"            // 500: the server could not take the connection over
	RefusalStatus           = "status"            // Dialer: the server did not answer 101
	RefusalRedirect         = "redirect"          // Dialer: the server redirected
	RefusalBadResponse      = "bad_response"      // Dialer: a 101 that does not complete the handshake
)

// Ending is a kind of connection end.
//
// Code is the peer's: any of the 2,000 codes from 3000 to 4999 is valid,
// so an exporter that turns it into a label may want to group those.
type Ending struct {
	Code      StatusCode // CloseEvent.Code
	Clean     bool       // CloseEvent.WasClean
	Initiator Side       // CloseEvent.Initiator
	Cause     Cause
}

// MarshalText names the refusal as "400 upgrade_header", so that a
// snapshot's Refused map encodes as JSON (expvar).
func (r Refusal) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "%d %s", r.Status, r.Reason), nil
}

// MarshalText names the ending as "code=1000 clean=true initiator=peer
// cause=peer_close", so that a snapshot's Ended map encodes as JSON
// (expvar).
func (e Ending) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "code=%d clean=%t initiator=%s cause=%s", int(e.Code), e.Clean, e.Initiator, e.Cause), nil
}

// Histogram counts durations into fixed buckets.
type Histogram struct {
	// Bounds are the buckets' upper bounds, inclusive; the last bucket,
	// Counts[len(Bounds)], has none.
	Bounds []time.Duration
	Counts []uint64 // per bucket, not cumulative
	Count  uint64
	Sum    time.Duration
}

// closeDurationBounds are CloseDurations' buckets: a handshake on a LAN
// takes a round trip, one over a mobile network up to seconds, and one
// that times out the close timeout (5 s by default).
var closeDurationBounds = []time.Duration{
	time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 5 * time.Second, 10 * time.Second,
}

// observe counts d.
func (h *Histogram) observe(d time.Duration) {
	if h.Counts == nil {
		h.Bounds = closeDurationBounds
		h.Counts = make([]uint64, len(closeDurationBounds)+1)
	}
	i := 0
	for i < len(h.Bounds) && d > h.Bounds[i] {
		i++
	}
	h.Counts[i]++
	h.Count++
	h.Sum += d
}

// Traffic counts data messages and their payload bytes. Control frames
// (ping, pong, close) are not counted.
type Traffic struct {
	MessagesIn, MessagesOut uint64
	// BytesIn and BytesOut are payload bytes as they cross the wire:
	// compressed, for compressed messages.
	BytesIn, BytesOut uint64
	// Compressed counts the messages that were compressed
	// (permessage-deflate), and CompressedBytes their payload bytes on
	// the wire, a part of the totals above.
	CompressedIn, CompressedOut           uint64
	CompressedBytesIn, CompressedBytesOut uint64
	// InflatedBytesIn is what the compressed messages read inflated to;
	// DeflatedBytesOut what the compressed messages sent were before
	// compression. With CompressedBytes they give the ratio.
	InflatedBytesIn, DeflatedBytesOut uint64
}

// add adds u to t.
func (t *Traffic) add(u Traffic) {
	t.MessagesIn += u.MessagesIn
	t.MessagesOut += u.MessagesOut
	t.BytesIn += u.BytesIn
	t.BytesOut += u.BytesOut
	t.CompressedIn += u.CompressedIn
	t.CompressedOut += u.CompressedOut
	t.CompressedBytesIn += u.CompressedBytesIn
	t.CompressedBytesOut += u.CompressedBytesOut
	t.InflatedBytesIn += u.InflatedBytesIn
	t.DeflatedBytesOut += u.DeflatedBytesOut
}

// Snapshot returns what s has counted so far. It adds in the traffic of
// the open connections, one connection at a time, so a message that
// crosses while it runs may or may not be in it. Safe from any goroutine.
func (s *Stats) Snapshot() StatsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.totals
	snap.Open = len(s.live)
	snap.Refused = maps.Clone(s.totals.Refused)
	snap.Ended = maps.Clone(s.totals.Ended)
	if snap.Refused == nil {
		snap.Refused = map[Refusal]uint64{}
	}
	if snap.Ended == nil {
		snap.Ended = map[Ending]uint64{}
	}
	snap.CloseDurations.Bounds = closeDurationBounds
	snap.CloseDurations.Counts = make([]uint64, len(closeDurationBounds)+1)
	copy(snap.CloseDurations.Counts, s.totals.CloseDurations.Counts)
	for c := range s.live {
		snap.Traffic.add(c.counts.load())
	}
	return snap
}

// opened adds a connection that has just been made.
func (s *Stats) opened(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live = make(map[*Conn]struct{})
	}
	s.live[c] = struct{}{}
	s.totals.Opened++
}

// ended folds in a connection that has ended.
func (s *Stats) ended(c *Conn, end *ConnEnd) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, c)
	if s.totals.Ended == nil {
		s.totals.Ended = make(map[Ending]uint64)
	}
	ev := end.Event
	s.totals.Ended[Ending{Code: ev.Code, Clean: ev.WasClean, Initiator: ev.Initiator, Cause: end.Cause}]++
	if end.CloseDuration > 0 {
		s.totals.CloseDurations.observe(end.CloseDuration)
	}
	s.totals.Traffic.add(end.Traffic)
}

// refused counts a refused handshake.
func (s *Stats) refused(status int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.totals.Refused == nil {
		s.totals.Refused = make(map[Refusal]uint64)
	}
	s.totals.Refused[Refusal{Status: status, Reason: reason}]++
}

// servedByGoroutine counts a Serve fallback.
func (s *Stats) servedByGoroutine() {
	s.mu.Lock()
	s.totals.ServeFallbacks++
	s.mu.Unlock()
}
