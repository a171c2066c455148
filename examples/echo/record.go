package main

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/a60656ec/websocket"
)

// A record is what the server saw of one connection's end, through the
// library's API only: the library reports no frames, so the record holds
// what the echo handler did and observed (a call to Close and its return,
// the read loop's final error, Done closing) and, at the end, the
// CloseEvent. The page fetches it from /record to draw the closing
// handshake next to what the browser saw.
type record struct {
	mu      sync.Mutex
	id      string
	created time.Time // time zero until a closing fact comes
	facts   []fact
	event   *websocket.CloseEvent // set once Done has closed
	ended   chan struct{}         // closed with event set
	closed  bool                  // ended is closed
}

// fact is one thing the server did or saw, at a time of the server's
// clock.
type fact struct {
	at time.Time
	// kind names the fact for the page: "flood", "close-call",
	// "close-return", "terminate", "read-end", "done".
	kind string
	// source says through which part of the API the handler saw it.
	source string
	text   string
	// closing marks the facts that belong to the end of the connection:
	// the first of them is the record's time zero.
	closing bool
	// code and reason are those of the close the fact is about: the
	// one Close sends, or the peer's close frame; code is 0 for none.
	code   websocket.StatusCode
	reason string
	// cause names the sentinel error the fact wraps, "" for none.
	cause string
}

// maxFacts bounds a record: a connection may send /flood any number of
// times, and a record must not grow with it.
const maxFacts = 32

func newRecord(id string) *record {
	return &record{id: id, created: time.Now(), ended: make(chan struct{})}
}

// add notes a fact now and returns its index, for notClosing. Facts past
// maxFacts are dropped, except the closing ones, which the record is for.
func (r *record) add(f fact) int {
	f.at = time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.facts) < maxFacts || (f.closing && len(r.facts) < 2*maxFacts) {
		r.facts = append(r.facts, f)
		return len(r.facts) - 1
	}
	return -1
}

// notClosing marks the fact at index i (from add) as not part of the
// end, when it turned out not to be.
func (r *record) notClosing(i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= 0 && i < len(r.facts) {
		r.facts[i].closing = false
	}
}

// end notes the connection's CloseEvent, once Done has closed.
func (r *record) end(ev websocket.CloseEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.event = &ev
	r.closed = true
	close(r.ended)
}

// causeName names the sentinel error of the library that err wraps, for
// the page to show and a test to compare; "" when err wraps none of them.
func causeName(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{websocket.ErrCloseTimeout, "ErrCloseTimeout"},
		{websocket.ErrTerminated, "ErrTerminated"},
		{websocket.ErrMessageTooBig, "ErrMessageTooBig"},
		{websocket.ErrProtocol, "ErrProtocol"},
		{websocket.ErrInvalidUTF8, "ErrInvalidUTF8"},
		{websocket.ErrBadCompressedData, "ErrBadCompressedData"},
		{websocket.ErrWriteTimeout, "ErrWriteTimeout"},
		{websocket.ErrFrameTimeout, "ErrFrameTimeout"},
		{websocket.ErrPongTimeout, "ErrPongTimeout"},
		{net.ErrClosed, "net.ErrClosed"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return ""
}

// readEndFact describes the read loop's final error: the peer's close
// frame when the error is a *CloseError with a code the peer sent, or
// the reason the connection ended without one.
func readEndFact(err error) fact {
	f := fact{kind: "read-end", source: "ReadMessage's error", closing: true, cause: causeName(err)}
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code != websocket.StatusAbnormalClosure:
		f.code, f.reason = ce.Code, ce.Reason
		f.text = fmt.Sprintf("peer's close frame: %s %q", ce.Code, ce.Reason)
	case errors.As(err, &ce):
		f.code = ce.Code
		f.text = "no close frame: " + err.Error()
	default:
		f.text = "the connection was failed: " + err.Error()
	}
	return f
}

// recordJSON is a record as /record serves it. Times are milliseconds
// from the first closing fact.
type recordJSON struct {
	ID    string     `json:"id"`
	Ended bool       `json:"ended"`
	Zero  string     `json:"zero"` // the kind of the fact that is time zero
	Facts []factJSON `json:"facts"`
	Event *eventJSON `json:"event,omitempty"`
}

type factJSON struct {
	AtMs    float64 `json:"atMs"`
	Kind    string  `json:"kind"`
	Source  string  `json:"source"`
	Text    string  `json:"text"`
	Closing bool    `json:"closing"`
	Code    int     `json:"code,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	Cause   string  `json:"cause,omitempty"`
}

// eventJSON is a websocket.CloseEvent for the page.
type eventJSON struct {
	Code      int    `json:"code"`
	CodeText  string `json:"codeText"`
	Reason    string `json:"reason"`
	WasClean  bool   `json:"wasClean"`
	Initiator string `json:"initiator"`
	Err       string `json:"err,omitempty"`
	Cause     string `json:"cause,omitempty"`
}

// snapshot is the record as it stands, for /record.
func (r *record) snapshot() recordJSON {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := recordJSON{ID: r.id, Ended: r.closed, Facts: []factJSON{}}
	// Facts come from several goroutines (the read loop, Close's, Done's
	// watcher), so the order they were noted in may differ a little from
	// their times: list them by time.
	facts := slices.Clone(r.facts)
	slices.SortStableFunc(facts, func(a, b fact) int { return a.at.Compare(b.at) })
	zero := r.created
	out.Zero = "connected"
	for _, f := range facts {
		if f.closing {
			zero = f.at
			out.Zero = f.kind
			break
		}
	}
	for _, f := range facts {
		out.Facts = append(out.Facts, factJSON{
			AtMs:    float64(f.at.Sub(zero).Microseconds()) / 1000,
			Kind:    f.kind,
			Source:  f.source,
			Text:    f.text,
			Closing: f.closing,
			Code:    int(f.code),
			Reason:  f.reason,
			Cause:   f.cause,
		})
	}
	if ev := r.event; ev != nil {
		e := &eventJSON{
			Code:      int(ev.Code),
			CodeText:  ev.Code.String(),
			Reason:    ev.Reason,
			WasClean:  ev.WasClean,
			Initiator: ev.Initiator.String(),
			Cause:     causeName(ev.Err),
		}
		if ev.Err != nil {
			e.Err = ev.Err.Error()
		}
		out.Event = e
	}
	return out
}
