package main

import (
	"bytes"
	"context"
	"encoding/json"

	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/a60656ec/websocket"
)

// waitBound bounds every wait of the test.
const waitBound = 10 * time.Second

// syncBuffer is a bytes.Buffer safe from the exporter's goroutine and the
// test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// exported is the part of the stdout exporter's JSON the test reads.
type exported struct {
	ScopeMetrics []struct {
		Metrics []struct {
			Name string
			Data struct {
				DataPoints []struct {
					Value *int64
					Count *uint64
				}
			}
		}
	}
}

// TestExportsToStdout runs the program's handler and upgrader on loopback
// with the stdout exporter writing to a buffer, makes a connection and a
// refused handshake, and reads back what a flush exported.
func TestExportsToStdout(t *testing.T) {
	out := new(syncBuffer)
	exporter, err := stdoutmetric.New(stdoutmetric.WithWriter(out), stdoutmetric.WithPrettyPrint())
	if err != nil {
		t.Fatal(err)
	}
	// An interval far past the test's length: only ForceFlush exports.
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(
		sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithInterval(time.Hour))))
	defer provider.Shutdown(context.Background())

	upgrader, err := newUpgrader(provider)
	if err != nil {
		t.Fatal(err)
	}
	upgrader.Logger = nil
	ends := make(chan websocket.ConnEnd, 1)
	record := upgrader.OnEnd
	upgrader.OnEnd = func(end websocket.ConnEnd) { record(end); ends <- end }
	srv := httptest.NewServer(newHandler(upgrader))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ends:
	case <-time.After(waitBound):
		t.Fatal("the server did not report the end")
	}

	if err := provider.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	printed := out.Bytes()
	t.Logf("exported:\n%s", printed)
	var got exported
	if err := json.NewDecoder(bytes.NewReader(printed)).Decode(&got); err != nil {
		t.Fatalf("decode the export: %v", err)
	}
	values := map[string]int64{}
	for _, sm := range got.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, p := range m.Data.DataPoints {
				switch {
				case p.Value != nil:
					values[m.Name] += *p.Value
				case p.Count != nil:
					values[m.Name] += int64(*p.Count)
				}
			}
		}
	}
	for name, want := range map[string]int64{
		"websocket.connections.open":         0,
		"websocket.connections.opened":       1,
		"websocket.connections.closed":       1,
		"websocket.handshakes.refused":       1,
		"websocket.messages":                 2, // one each way
		"websocket.close_handshake.duration": 1,
	} {
		if got, ok := values[name]; !ok || got != want {
			t.Errorf("%s: exported %d (found: %v), want %d", name, got, ok, want)
		}
	}
}
