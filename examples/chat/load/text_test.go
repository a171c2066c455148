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
		text := appendLoadText(nil, 2, 12345, 1_780_000_000_123_456_789, size)
		if len(text) < size {
			t.Fatalf("size %d: text is %d bytes", size, len(text))
		}
		data := marshal(t, chatEvent{Kind: "message", Room: room, From: "c7", Text: string(text), ID: "abc"})
		pub, seq, sent, ok := parseLoadText(eventText(data))
		if !ok || pub != 2 || seq != 12345 || sent != 1_780_000_000_123_456_789 {
			t.Fatalf("size %d: parsed %d %d %d %v from %s", size, pub, seq, sent, ok, data)
		}
	}
}

func TestEventTextOnlyForMessages(t *testing.T) {
	join := marshal(t, chatEvent{Kind: "join", Room: room, From: "c12"})
	if eventText(join) != nil {
		t.Error("a join has a text")
	}
	if !isOwnJoin(join, "c12") || isOwnJoin(join, "c1") || isOwnJoin(join, "c123") {
		t.Errorf("isOwnJoin is wrong about %s", join)
	}
	sync := marshal(t, chatEvent{Kind: "message", Room: room, From: "c0", Text: syncText})
	if string(eventText(sync)) != syncText {
		t.Errorf("sync text: %q", eventText(sync))
	}
	if _, _, _, ok := parseLoadText([]byte(syncText)); ok {
		t.Error("the sync text parsed as a load message")
	}
	for _, bad := range []string{"L 1 2", "L x 2 3 pad", "L 1 2 99999999999999999999 pad", "hello"} {
		if _, _, _, ok := parseLoadText([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
