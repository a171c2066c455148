package wsprom

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a60656ec/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCollectorEmpty checks what a Stats that has counted nothing reports.
func TestCollectorEmpty(t *testing.T) {
	c := NewCollector(new(websocket.Stats))
	if err := testutil.CollectAndCompare(c, strings.NewReader(expectation{}.text())); err != nil {
		t.Fatal(err)
	}
}

// TestCollectorReportsWhatHappened drives connections over loopback (a
// refused GET and POST, a clean close from the client, a Terminate from the
// server, a compressed echo, and one connection left open) and checks the
// whole exposition against what the test did.
func TestCollectorReportsWhatHappened(t *testing.T) {
	stats := new(websocket.Stats)
	server := newEchoServer(stats)
	srv := httptest.NewServer(server)
	defer srv.Close()

	refuse(t, srv, http.MethodGet, http.StatusBadRequest)        // no Upgrade header
	refuse(t, srv, http.MethodPost, http.StatusMethodNotAllowed) // not a GET

	var plain websocket.Dialer
	closing := dial(t, &plain, srv)
	echoRoundTrip(t, closing, []byte("hello"))
	echoRoundTrip(t, closing, []byte("world!"))
	if err := closing.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}

	terminated := dial(t, &plain, srv)
	if err := terminated.WriteMessage(websocket.TextMessage, []byte(terminateCommand)); err != nil {
		t.Fatal(err)
	}
	readUntilEnd(t, terminated)

	clientEnds := make(chan websocket.ConnEnd, 1)
	compressing := websocket.Dialer{
		Compression:          websocket.CompressionNoContextTakeover,
		CompressionThreshold: -1,
		OnEnd:                func(end websocket.ConnEnd) { clientEnds <- end },
	}
	compressed := dial(t, &compressing, srv)
	big := bytes.Repeat([]byte("compressible "), 25)
	echoRoundTrip(t, compressed, big)
	if err := compressed.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}

	open := dial(t, &plain, srv)
	echoRoundTrip(t, open, []byte("still here"))

	// Wait until the server has counted all that: three ends, and the
	// four echoes written.
	want := expectation{
		open:   1,
		opened: 4,
		closed: map[string]uint64{
			`cause="peer_close",clean="true",code="1000",initiator="peer"`:  2,
			`cause="terminate",clean="false",code="1006",initiator="local"`: 1,
		},
		refused: map[string]uint64{
			`reason="upgrade_header",status="400"`: 1,
			`reason="method",status="405"`:         1,
		},
	}
	for range 3 {
		if d := receive(t, server.ends, "server end").CloseDuration; d > 0 {
			want.closeDurations = append(want.closeDurations, d)
		}
	}
	for range 4 {
		receive(t, server.echoed, "echo")
	}
	if len(want.closeDurations) != 2 {
		t.Fatalf("closing handshakes the server saw: %v, want 2 (the two clean closes)", want.closeDurations)
	}

	// The client counted the compressed message's wire size independently:
	// what it sent, the server read, and the other way round.
	client := receive(t, clientEnds, "client end").Traffic
	if client.CompressedBytesOut == 0 || client.CompressedBytesOut >= uint64(len(big)) {
		t.Fatalf("the client sent %d compressed bytes for %d: not compressed", client.CompressedBytesOut, len(big))
	}
	plainIn := uint64(len("hello") + len("world!") + len(terminateCommand) + len("still here"))
	plainOut := uint64(len("hello") + len("world!") + len("still here"))
	want.messages = map[string]uint64{"in": 5, "out": 4}
	want.compressedMessages = map[string]uint64{"in": 1, "out": 1}
	want.payloadBytes = map[string]uint64{"in": plainIn + client.CompressedBytesOut, "out": plainOut + client.CompressedBytesIn}
	want.compressedPayloadBytes = map[string]uint64{"in": client.CompressedBytesOut, "out": client.CompressedBytesIn}
	want.uncompressedPayloadBytes = map[string]uint64{"in": uint64(len(big)), "out": uint64(len(big))}

	c := NewCollector(stats)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want.text())); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
