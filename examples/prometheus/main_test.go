package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/a60656ec/websocket/examples/prometheus/wsprom"
	"github.com/prometheus/client_golang/prometheus"
)

// waitBound bounds every wait of the test.
const waitBound = 10 * time.Second

// TestScrapeOverHTTP runs the program's handler on loopback, makes a few
// connections through it (two closed by the client, one dropped, a GET and
// a POST refused), and scrapes /metrics as Prometheus would. It
// leaves no connection open: the server counts a connection once its 101
// response is written, so a client's Dial may return before the count.
func TestScrapeOverHTTP(t *testing.T) {
	stats := new(websocket.Stats)
	ends := make(chan websocket.ConnEnd, 4)
	upgrader := &websocket.Upgrader{
		Stats:                stats,
		OnEnd:                func(end websocket.ConnEnd) { ends <- end },
		Compression:          websocket.CompressionNoContextTakeover,
		CompressionThreshold: -1,
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(wsprom.NewCollector(stats))
	srv := httptest.NewServer(newHandler(upgrader, registry))
	defer srv.Close()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, err := http.NewRequest(method, srv.URL+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	var plain websocket.Dialer
	compressing := websocket.Dialer{Compression: websocket.CompressionNoContextTakeover, CompressionThreshold: -1}
	for _, d := range []*websocket.Dialer{&plain, &compressing} {
		conn := dial(t, d, wsURL)
		echoRoundTrip(t, conn, []byte("hello"))
		echoRoundTrip(t, conn, bytes.Repeat([]byte("compressible "), 25))
		if err := conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatalf("Close: %v", err)
		}
		waitEnd(t, ends)
	}
	dropped := dial(t, &plain, wsURL)
	echoRoundTrip(t, dropped, []byte("hello"))
	dropped.Terminate() // no close frame: the server sees TCP go
	waitEnd(t, ends)

	body := scrape(t, srv.URL+"/metrics")
	t.Logf("scraped /metrics:\n%s", body)
	for _, line := range []string{
		"websocket_connections_open 0",
		"websocket_connections_opened_total 3",
		`websocket_connections_closed_total{cause="peer_close",clean="true",code="1000",initiator="peer"} 2`,
		`websocket_connections_closed_total{cause="peer_gone",clean="false",code="1006",initiator="peer"} 1`,
		`websocket_handshakes_refused_total{reason="upgrade_header",status="400"} 1`,
		`websocket_handshakes_refused_total{reason="method",status="405"} 1`,
		`websocket_close_handshake_duration_seconds_count 2`, // the dropped one had no closing handshake
		`websocket_messages_total{direction="in"} 5`,
		`websocket_messages_total{direction="out"} 5`,
		`websocket_compressed_messages_total{direction="in"} 2`,
		`websocket_compressed_payload_uncompressed_bytes_total{direction="in"} 330`,
	} {
		if !strings.Contains(body, "\n"+line+"\n") {
			t.Errorf("/metrics lacks the line %q", line)
		}
	}
}

// waitEnd waits for the server to report a connection's end.
func waitEnd(t *testing.T, ends <-chan websocket.ConnEnd) {
	t.Helper()
	select {
	case <-ends:
	case <-time.After(waitBound):
		t.Fatal("the server did not report the end")
	}
}

// scrape GETs url and returns the body, checking it is Prometheus's text
// format.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET %s: Content-Type %q, want text/plain", url, ct)
	}
	return string(body)
}

// dial opens a connection to url with d, dropped at the end of the test.
func dial(t *testing.T, d *websocket.Dialer, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	conn, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Terminate() })
	return conn
}

// echoRoundTrip sends msg and checks it comes back.
func echoRoundTrip(t *testing.T, conn *websocket.Conn, msg []byte) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, got, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read the echo: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo: got %q, want %q", got, msg)
	}
}
