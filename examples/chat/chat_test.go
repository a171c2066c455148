package main

import (
	"testing"

	"github.com/a60656ec/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestThreeProcesses runs three chat processes sharing the first one's
// embedded NATS server, with members of one room on each, and checks that
// a message reaches every member exactly once, that a SIGTERM drains a
// process's members with a clean 1012, and that once they reconnect to the
// others they hear the room again.
func TestThreeProcesses(t *testing.T) {
	bin := buildChat(t)
	first := startChat(t, bin, "-addr", "127.0.0.1:0", "-nats-listen", "127.0.0.1:0")
	if first.natsURL == "" {
		t.Fatal("the first process did not report its embedded NATS server")
	}
	second := startChat(t, bin, "-addr", "127.0.0.1:0", "-nats", first.natsURL)
	third := startChat(t, bin, "-addr", "127.0.0.1:0", "-nats", first.natsURL)

	const room = "lobby"
	ann := joinRoom(t, first.wsURL(room, "ann"), "ann")
	bob := joinRoom(t, second.wsURL(room, "bob"), "bob")
	cy := joinRoom(t, third.wsURL(room, "cy"), "cy")
	dee := joinRoom(t, third.wsURL(room, "dee"), "dee")
	everyone := []*member{ann, bob, cy, dee}

	ann.say(t, "hello")
	// A second message, from another process, marks the end: a duplicate
	// of the first would have arrived on its way.
	bob.say(t, "end of round one")
	for _, m := range everyone {
		m.waitForMessages(t, "hello", "end of round one")
		if n := m.countMessages("hello"); n != 1 {
			t.Errorf("%s got hello %d times, want once", m.name, n)
		}
	}

	third.terminate(t)
	for _, m := range []*member{cy, dee} {
		ev := m.waitClosed(t)
		if ev.Code != websocket.StatusServiceRestart || !ev.WasClean || ev.Reason != "restarting" {
			t.Errorf("%s: close event %+v, want a clean 1012 \"restarting\"", m.name, ev)
		}
	}

	// The drained process published its members' leaves before exiting.
	ann.waitForLeaves(t, "cy", "dee")

	// The page reconnects to whichever process the load balancer picks;
	// here, one to each survivor.
	cy = joinRoom(t, first.wsURL(room, "cy"), "cy")
	dee = joinRoom(t, second.wsURL(room, "dee"), "dee")
	everyone = []*member{ann, bob, cy, dee}

	cy.say(t, "back again")
	ann.say(t, "end of round two")
	for _, m := range everyone {
		m.waitForMessages(t, "back again", "end of round two")
		if n := m.countMessages("back again"); n != 1 {
			t.Errorf("%s got \"back again\" %d times, want once", m.name, n)
		}
	}
}
