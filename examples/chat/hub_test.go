package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/nats-io/nats.go"
)

// testProcess is the in-process stand-in for a chat process: a hub, its
// group and its HTTP server, on a NATS server shared with other ones.
type testProcess struct {
	hub   *hub
	group *websocket.Group
	srv   *httptest.Server
}

// newTestProcess serves a hub connected to natsURL.
func newTestProcess(t *testing.T, natsURL string) *testProcess {
	t.Helper()
	nc, err := connectNATS(natsURL, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &testProcess{hub: newHub(nc, log), group: &websocket.Group{}}
	p.srv = httptest.NewServer(newHandler(p.hub, newUpgrader(p.group)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.group.Shutdown(ctx, websocket.StatusGoingAway, "test over")
		p.srv.Close()
		nc.Close()
	})
	return p
}

// wsURL is the chat socket of p for room and name.
func (p *testProcess) wsURL(room, name string) string {
	return "ws" + strings.TrimPrefix(p.srv.URL, "http") + "/ws?room=" + room + "&name=" + name
}

// startTestNATS runs an embedded NATS server for one test.
func startTestNATS(t *testing.T) string {
	t.Helper()
	ns, err := startEmbeddedNATS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns.ClientURL()
}

// TestPresence checks that a newcomer learns who is already in the room,
// on its own process and on others, and that the others see it leave.
func TestPresence(t *testing.T) {
	natsURL := startTestNATS(t)
	one, two := newTestProcess(t, natsURL), newTestProcess(t, natsURL)

	ann := joinRoom(t, one.wsURL("den", "ann"), "ann")
	bob := joinRoom(t, two.wsURL("den", "bob"), "bob")
	cy := joinRoom(t, two.wsURL("den", "cy"), "cy")

	// Each process answers cy's join with its members: ann from one, bob
	// and cy from two.
	// An answer may come before cy's own join event does: they travel on
	// different subjects.
	heard := func() (names []string) {
		for _, ev := range cy.seen {
			if ev.Kind == kindHere {
				names = append(names, ev.Names...)
			}
		}
		return names
	}
	for !slices.Contains(heard(), "ann") || !slices.Contains(heard(), "bob") {
		cy.waitFor(t, func(ev event) bool { return ev.Kind == kindHere })
	}
	if slices.Contains(heard(), "dee") {
		t.Errorf("here events name %v: someone who never joined", heard())
	}

	if err := ann.conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*member{bob, cy} {
		m.waitForLeaves(t, "ann")
	}
	// The answers to a join go to the newcomer alone: bob heard the two
	// answering its own join, none of those answering cy's.
	if n := countKind(bob.seen, kindHere); n > 2 {
		t.Errorf("bob got %d here events, want the 2 answering its own join", n)
	}

	// The leave is published after the room is dropped: process one has
	// no member left in it, so no subscription either.
	if conns, _ := one.hub.localMembers("den"); len(conns) != 0 {
		t.Errorf("process one still has %d members in the room", len(conns))
	}
	one.hub.mu.Lock()
	rooms := len(one.hub.rooms)
	one.hub.mu.Unlock()
	if rooms != 0 {
		t.Errorf("process one keeps %d rooms after its last member left", rooms)
	}
}

// TestRoomsAreSeparate checks that a message stays in its room.
func TestRoomsAreSeparate(t *testing.T) {
	natsURL := startTestNATS(t)
	p := newTestProcess(t, natsURL)
	ann := joinRoom(t, p.wsURL("red", "ann"), "ann")
	bob := joinRoom(t, p.wsURL("blue", "bob"), "bob")

	ann.say(t, "only red")
	bob.say(t, "only blue")
	ann.waitForMessages(t, "only red")
	bob.waitForMessages(t, "only blue")
	// "only blue" reached NATS before "red again" did, and a subscription
	// gets its messages in order: had "only blue" matched the red room's
	// subscription, ann would have it by the time "red again" arrives.
	ann.say(t, "red again")
	ann.waitForMessages(t, "red again")
	if n := ann.countMessages("only blue") + bob.countMessages("only red"); n != 0 {
		t.Errorf("%d messages crossed rooms", n)
	}
}

// TestDrainRefusesUpgrades checks that once a process drains, its members
// hear a clean 1012 and a new upgrade is answered 503, so a page tries
// again elsewhere.
func TestDrainRefusesUpgrades(t *testing.T) {
	natsURL := startTestNATS(t)
	p := newTestProcess(t, natsURL)
	ann := joinRoom(t, p.wsURL("den", "ann"), "ann")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.group.Shutdown(ctx, websocket.StatusServiceRestart, "restarting"); err != nil {
		t.Fatal(err)
	}
	if ev := ann.waitClosed(t); ev.Code != websocket.StatusServiceRestart || !ev.WasClean {
		t.Errorf("close event %+v, want a clean 1012", ev)
	}
	_, resp, err := websocket.Dial(dialContext(t), p.wsURL("den", "bob"), nil)
	if err == nil {
		t.Fatal("upgrade accepted during a drain")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial during a drain: %v, response %v; want 503", err, resp)
	}
	if resp != nil {
		resp.Body.Close()
	}
}

// TestBadNames checks that names NATS could not carry as a subject are
// refused before the upgrade.
func TestBadNames(t *testing.T) {
	natsURL := startTestNATS(t)
	p := newTestProcess(t, natsURL)
	for _, q := range []string{"room=a.b&name=ann", "room=den&name=", "room=*&name=ann", "room=den&name=a%20b"} {
		_, resp, err := websocket.Dial(dialContext(t), "ws"+strings.TrimPrefix(p.srv.URL, "http")+"/ws?"+q, nil)
		if err == nil {
			t.Errorf("%s: upgraded", q)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %v; want 400", q, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}

// TestBadMessages checks that a page sending what the chat cannot carry is
// closed with the code the README gives, cleanly.
func TestBadMessages(t *testing.T) {
	p := newTestProcess(t, startTestNATS(t))
	cases := []struct {
		name string
		typ  websocket.MessageType
		data []byte
		want websocket.StatusCode
	}{
		{"not JSON", websocket.TextMessage, []byte("hi"), websocket.StatusUnsupportedData},
		{"binary", websocket.BinaryMessage, []byte(`{"text":"hi"}`), websocket.StatusUnsupportedData},
		{"no text", websocket.TextMessage, []byte(`{}`), websocket.StatusUnsupportedData},
		{"over the read limit", websocket.TextMessage, []byte(`{"text":"` + strings.Repeat("a", readLimit) + `"}`), websocket.StatusMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := joinRoom(t, p.wsURL("den", "ann"), "ann")
			if err := m.conn.WriteMessage(tc.typ, tc.data); err != nil {
				t.Fatal(err)
			}
			// The member's reader goes on reading, as a page does, so the
			// server's close frame is answered.
			if ev := m.waitClosed(t); ev.Code != tc.want || !ev.WasClean {
				t.Errorf("close event %+v, want a clean %d", ev, tc.want)
			}
		})
	}
}

// countKind counts the events of a kind.
func countKind(events []event, kind string) int {
	n := 0
	for _, ev := range events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// TestBroadcasterBatches checks that events already waiting when the
// room's broadcaster runs go out in batches of at most maxBatch, whole and
// in order, and that the broadcaster ends when the room is gone.
func TestBroadcasterBatches(t *testing.T) {
	const queued = maxBatch + 44 // a full batch, then a short one
	h := newHub(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r := &room{
		members: make(map[*websocket.Conn]*localMember),
		events:  make(chan *nats.Msg, roomQueue),
		gone:    make(chan struct{}),
	}
	for i := range queued {
		r.events <- &nats.Msg{Data: []byte(fmt.Sprint(i))}
	}
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, req, nil)
		if err == nil {
			conns <- c
		}
	}))
	defer srv.Close()
	client, _, err := websocket.Dial(dialContext(t), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Terminate()
	server := <-conns
	defer server.Terminate()
	r.members[server] = &localMember{name: "ann"}

	ended := make(chan struct{})
	go func() {
		h.broadcaster("den", r)
		close(ended)
	}()
	for i := range queued {
		_, b, err := client.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(b) != fmt.Sprint(i) {
			t.Fatalf("message %q where %d was next", b, i)
		}
	}
	if n := h.broadcasts.Load(); n != 2 {
		t.Errorf("%d broadcasts for %d queued events, want 2: a full batch, then the rest", n, queued)
	}
	close(r.gone)
	select {
	case <-ended:
	case <-time.After(eventTimeout):
		t.Fatal("the broadcaster did not end with its room")
	}
}

// TestBurstInOrder checks that a burst of messages, which arrive faster
// than a broadcast ends and so go out in batches, reaches every member
// exactly once and in the order it was said, on both processes.
func TestBurstInOrder(t *testing.T) {
	natsURL := startTestNATS(t)
	one, two := newTestProcess(t, natsURL), newTestProcess(t, natsURL)
	ann := joinRoom(t, one.wsURL("den", "ann"), "ann")
	bob := joinRoom(t, two.wsURL("den", "bob"), "bob")
	cy := joinRoom(t, one.wsURL("den", "cy"), "cy")
	for _, m := range []*member{ann, bob} {
		m.waitForSeen(t, func(ev event) bool { return ev.Kind == kindJoin && ev.From == "cy" })
	}

	const burst = 500
	go func() {
		for i := range burst {
			if err := ann.conn.WriteJSON(clientMessage{Text: fmt.Sprint(i)}); err != nil {
				return // the test fails below, waiting for the message
			}
		}
	}()
	for _, m := range []*member{ann, bob, cy} {
		next := 0
		for next < burst {
			ev := m.waitFor(t, func(ev event) bool { return ev.Kind == kindMessage })
			if ev.Text != fmt.Sprint(next) {
				t.Fatalf("%s: message %q where %d was next", m.name, ev.Text, next)
			}
			next++
		}
	}
}
