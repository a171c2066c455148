package main

import (
	"encoding/json"
	"testing"
)

// chatEvent is the chat's event as its server marshals it (message.go in
// the chat's package, which this command cannot import: both are main).
type chatEvent struct {
	Kind string `json:"kind"`
	Room string `json:"room"`
	From string `json:"from,omitempty"`
	Text string `json:"text,omitempty"`
	ID   string `json:"id,omitempty"`
}

func marshal(t *testing.T, ev chatEvent) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadTextRoundTrip(t *testing.T) {
	for _, size := range []int{0, 40, 100, 1000} {
		text := appendLoadText(nil, 3, 2, 12345, 1_780_000_000_123_456_789, size)
		if len(text) < size {
			t.Fatalf("size %d: text is %d bytes", size, len(text))
		}
		data := marshal(t, chatEvent{Kind: "message", Room: roomName, From: "c7", Text: string(text), ID: "abc"})
		win, pub, seq, sent, ok := parseLoadText(eventText(data))
		if !ok || win != 3 || pub != 2 || seq != 12345 || sent != 1_780_000_000_123_456_789 {
			t.Fatalf("size %d: parsed %d %d %d %d %v from %s", size, win, pub, seq, sent, ok, data)
		}
	}
}

func TestEventTextOnlyForMessages(t *testing.T) {
	join := marshal(t, chatEvent{Kind: "join", Room: roomName, From: "c12"})
	if eventText(join) != nil {
		t.Error("a join has a text")
	}
	if !isOwnJoin(join, "c12") || isOwnJoin(join, "c1") || isOwnJoin(join, "c123") {
		t.Errorf("isOwnJoin is wrong about %s", join)
	}
	sync := marshal(t, chatEvent{Kind: "message", Room: roomName, From: "c0", Text: syncText(4)})
	if win, ok := parseSyncText(eventText(sync)); !ok || win != 4 {
		t.Errorf("sync text %q parsed as %d %v", eventText(sync), win, ok)
	}
	if _, _, _, _, ok := parseLoadText([]byte(syncText(4))); ok {
		t.Error("the sync text parsed as a load message")
	}
	for _, bad := range []string{"L 0 1 2", "L 0 x 2 3 pad", "L 0 1 2 99999999999999999999 pad", "L 9999999999 1 2 3 pad", "hello"} {
		if _, _, _, _, ok := parseLoadText([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	for _, bad := range []string{"S", "S x", "L 0 1 2 3 pad"} {
		if _, ok := parseSyncText([]byte(bad)); ok {
			t.Errorf("%q parsed as a sync", bad)
		}
	}
}
