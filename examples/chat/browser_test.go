package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// updateScreenshots writes TestBrowserDrainThroughFront's screenshots into
// docs/, where README.md shows them; without it they go to a temporary
// directory, so that a run leaves the tree as it was.
var updateScreenshots = flag.Bool("update-screenshots", false,
	"write TestBrowserDrainThroughFront's screenshots into docs/")

// TestBrowserDrainThroughFront runs page.html in headless Chromium, as
// a person would use it: two chat processes on one NATS server behind the
// front, alice's and bob's pages in one room, each on its own process.
// They hear each other; then bob's process gets SIGTERM, and bob's page
// must log the clean 1012 "restarting", reconnect through the front to
// the other process, and hear alice again, each message once.
func TestBrowserDrainThroughFront(t *testing.T) {
	requireChromium(t)
	shots := t.TempDir()
	if *updateScreenshots {
		shots = "docs"
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	bin := buildChat(t)
	first := startChat(t, bin, "-addr", "127.0.0.1:0", "-nats-listen", "127.0.0.1:0")
	if first.natsURL == "" {
		t.Fatal("the first process did not report its embedded NATS server")
	}
	second := startChat(t, bin, "-addr", "127.0.0.1:0", "-nats", first.natsURL)
	frontSrv, routes := startFront(t, first, second)
	browser := startChromium(t)

	const room = "lobby"
	alice := openPage(t, browser, frontSrv.URL+"/", "alice")
	bob := openPage(t, browser, frontSrv.URL+"/", "bob")
	alice.join(t, room)
	alice.waitUntil(t, "open", `v.state === "open"`)
	alice.waitCount(t, "alice joined", 1) // her process listens to the room
	bob.join(t, room)
	bob.waitMembers(t, "alice", "bob")
	alice.waitMembers(t, "alice", "bob")

	// Sockets take turns at the front: alice's went to the first process,
	// bob's to the second, the one that can be drained without stopping
	// the NATS server the first one embeds.
	if got, want := routes.of("alice"), []string{first.host(t)}; !slices.Equal(got, want) {
		t.Fatalf("alice's sockets went to %q, want %q (the first process)", got, want)
	}
	if got, want := routes.of("bob"), []string{second.host(t)}; !slices.Equal(got, want) {
		t.Fatalf("bob's sockets went to %q, want %q (the second process)", got, want)
	}

	alice.say(t, "hi, I'm on the first process")
	bob.waitCount(t, "alice: hi, I'm on the first process", 1)
	bob.say(t, "hi alice, I'm on the second")
	for _, p := range []*chatPage{alice, bob} {
		p.waitCount(t, "bob: hi alice, I'm on the second", 1)
		// bob's message came after alice's, on every page: a repeat of
		// hers would have come before it.
		if n := p.count(t, "alice: hi, I'm on the first process"); n != 1 {
			t.Errorf("%s shows alice's message %d times, want once", p.name, n)
		}
	}
	alice.screenshot(t, filepath.Join(shots, "browser-alice-before-drain.png"))
	bob.screenshot(t, filepath.Join(shots, "browser-bob-before-drain.png"))

	// A deploy: the second process gets SIGTERM and drains.
	second.terminate(t)
	bob.waitLog(t, regexp.MustCompile(`^code=1012 reason="restarting" wasClean=true$`))
	bob.waitLog(t, regexp.MustCompile(`^reconnected$`))
	bob.waitUntil(t, "open", `v.state === "open"`)
	// bob's own join, heard again: his new socket's process listens to
	// the room.
	bob.waitCount(t, "bob joined", 2)
	bob.waitMembers(t, "alice", "bob")
	alice.waitCount(t, "bob left", 1)
	alice.waitCount(t, "bob joined", 2)
	alice.waitMembers(t, "alice", "bob")

	log := bob.view(t).Log
	want := []*regexp.Regexp{
		regexp.MustCompile(`^open$`),
		regexp.MustCompile(`^code=1012 reason="restarting" wasClean=true$`),
		regexp.MustCompile(`^reconnecting in \d+ ms$`),
		regexp.MustCompile(`^reconnected$`),
	}
	if len(log) != len(want) {
		t.Errorf("bob's connection log %q, want %d lines: open, the 1012, the delay, reconnected", log, len(want))
	} else {
		for i, re := range want {
			if !re.MatchString(log[i]) {
				t.Errorf("bob's connection log line %d is %q, want %s", i, log[i], re)
			}
		}
	}
	if got, want := routes.of("bob"), []string{second.host(t), first.host(t)}; !slices.Equal(got, want) {
		t.Errorf("bob's sockets went to %q, want %q: the second process, then the first", got, want)
	}

	alice.say(t, "welcome back, bob")
	alice.say(t, "that was a deploy")
	bob.waitCount(t, "alice: that was a deploy", 1)
	// Both came from alice's process in order: a repeat of the first
	// would have come before the second.
	if n := bob.count(t, "alice: welcome back, bob"); n != 1 {
		t.Errorf("bob shows %q %d times after the reconnect, want once", "alice: welcome back, bob", n)
	}
	bob.screenshot(t, filepath.Join(shots, "browser-bob-after-reconnect.png"))
}
