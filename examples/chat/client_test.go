package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
)

// eventTimeout bounds every wait for an event to reach a client.
const eventTimeout = 10 * time.Second

// member is a test client in a room: a connection made with the library's
// Dial, and every event it has received, in order.
type member struct {
	name   string
	conn   *websocket.Conn
	events chan event
	seen   []event
}

// joinRoom dials wsURL as name and waits for the member's own join event:
// from then on its process is subscribed to the room.
func joinRoom(t *testing.T, wsURL, name string) *member {
	t.Helper()
	conn, _, err := websocket.Dial(dialContext(t), wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	m := &member{name: name, conn: conn, events: make(chan event, 256)}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(m.events)
		for {
			var ev event
			if err := conn.ReadJSON(&ev); err != nil {
				return
			}
			m.events <- ev
		}
	}()
	t.Cleanup(func() {
		conn.Terminate()
		<-readerDone
	})
	m.waitFor(t, func(ev event) bool { return ev.Kind == kindJoin && ev.From == name })
	return m
}

// say sends text to the member's room.
func (m *member) say(t *testing.T, text string) {
	t.Helper()
	if err := m.conn.WriteJSON(clientMessage{Text: text}); err != nil {
		t.Fatalf("%s says %q: %v", m.name, text, err)
	}
}

// waitFor reads events until one matches, failing the test after
// eventTimeout or if the connection ends first.
func (m *member) waitFor(t *testing.T, match func(event) bool) event {
	t.Helper()
	deadline := time.After(eventTimeout)
	for {
		select {
		case ev, ok := <-m.events:
			if !ok {
				t.Fatalf("%s: connection ended while waiting: %+v", m.name, m.conn.CloseEvent())
			}
			m.seen = append(m.seen, ev)
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("%s: no matching event within %v; saw %+v", m.name, eventTimeout, m.seen)
		}
	}
}

// waitForMessages waits until chat messages with each of texts have
// arrived, in any order: messages from different processes have none.
func (m *member) waitForMessages(t *testing.T, texts ...string) {
	t.Helper()
	for _, text := range texts {
		m.waitForSeen(t, func(ev event) bool { return ev.Kind == kindMessage && ev.Text == text })
	}
}

// waitForLeaves waits until each of names has left, in any order.
func (m *member) waitForLeaves(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		m.waitForSeen(t, func(ev event) bool { return ev.Kind == kindLeave && ev.From == name })
	}
}

// waitForSeen is waitFor, satisfied too by an event that has already
// arrived.
func (m *member) waitForSeen(t *testing.T, match func(event) bool) {
	t.Helper()
	if slices.ContainsFunc(m.seen, match) {
		return
	}
	m.waitFor(t, match)
}

// countMessages counts the chat messages with text seen so far.
func (m *member) countMessages(text string) int {
	n := 0
	for _, ev := range m.seen {
		if ev.Kind == kindMessage && ev.Text == text {
			n++
		}
	}
	return n
}

// waitClosed waits for the connection to end and returns how it ended.
func (m *member) waitClosed(t *testing.T) websocket.CloseEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	select {
	case <-m.conn.Done():
		return m.conn.CloseEvent()
	case <-ctx.Done():
		t.Fatalf("%s: connection still open after %v", m.name, eventTimeout)
		return websocket.CloseEvent{}
	}
}
