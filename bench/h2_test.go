package main

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestH2 opens several WebSockets at once to each HTTP/2 server, echoes
// every message size on each, and checks that they arrived as extended
// CONNECT streams over HTTP/2, one TCP connection each for ours-h2 and
// one for all for ours-h2-mux; and that the server refuses HTTP/1.1, so
// that no cell of it can have measured HTTP/1.1.
func TestH2(t *testing.T) {
	const n = 3
	for _, lib := range []string{"ours-h2", "ours-h2-mux"} {
		t.Run(lib, func(t *testing.T) {
			t.Parallel()
			s, clients := startDialed(t, lib, n, compressNone, 10*time.Second, false)
			wantTCP := int64(n)
			if lib == "ours-h2-mux" {
				wantTCP = 1
			}
			if st := s.snapshot(false); st.H2Streams != n || st.TCPConns != wantTCP {
				t.Fatalf("%d HTTP/2 CONNECT streams over %d TCP connections, want %d over %d", st.H2Streams, st.TCPConns, n, wantTCP)
			}
			if err := checkH2(lib, s.snapshot(false), n); err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{0, 16, 125, 126, 1 << 10, 4096, 16 << 10, 64 << 10, 100_000} {
				payload := make([]byte, size)
				for i := range 2 {
					for _, c := range clients {
						for j := range payload {
							payload[j] = byte(rand.Uint32())
						}
						if err := c.writeFrame(opBinary, payload); err != nil {
							t.Fatalf("%d bytes, round trip %d: write: %v", size, i, err)
						}
						got, err := c.readMessage()
						if err != nil {
							t.Fatalf("%d bytes, round trip %d: read: %v", size, i, err)
						}
						if c.msgOp != opBinary || !bytes.Equal(got, payload) {
							t.Fatalf("%d bytes, round trip %d: echo differs (opcode %d, %d bytes back)", size, i, c.msgOp, len(got))
						}
					}
				}
			}
			if got := s.live(); got != n {
				t.Fatalf("server tracks %d connections, want %d", got, n)
			}
			for _, c := range clients {
				if err := c.closeHandshake(10 * time.Second); err != nil {
					t.Fatalf("client close: %v", err)
				}
			}
			if c, err := dialWS(s.Addr(), nil, 4096, 10*time.Second); err == nil {
				c.nc.Close()
				t.Fatal("an HTTP/1.1 upgrade succeeded")
			}
		})
	}
}

// TestH2Price: the HTTP/2 table pairs ours-h2 with ours repetition by
// repetition, leaving out a repetition that either lacks, and the
// variants' table leaves ours-h2 to it.
func TestH2Price(t *testing.T) {
	cfg := defaultConfig(false)
	cfg.reps = 3
	cfg.libs = []string{"ours", "ours-h2"}
	k := cellKey{size: 16, conns: 1}
	r := results{cells: map[string]map[cellKey][]cellSample{
		"ours": {k: {
			{rep: 0, cpuPer100k: 1, clientPer100: 1},
			{rep: 1, cpuPer100k: 1, clientPer100: 1},
		}},
		"ours-h2": {k: {
			{rep: 0, cpuPer100k: 2, clientPer100: 1.5, allocsPerMsg: 2, bytesPerMsg: 100},
			{rep: 1, cpuPer100k: 3, clientPer100: 1.5, allocsPerMsg: 2.1, bytesPerMsg: 100},
			{rep: 2, cpuPer100k: 9, clientPer100: 1.5, allocsPerMsg: 1.9, bytesPerMsg: 100},
		}},
	}}
	var b strings.Builder
	formatH2Price(&b, cfg, r, []cellKey{k})
	want := "| 16 B × 1 | 1.67x | 1.33x–2.00x | 2.50x | 2.00x–3.00x | 1.50x | 1.50x–1.50x | 0.00 → 2.00 (1.90–2.10) | 0 B → 100 B |"
	if !strings.Contains(b.String(), want) {
		t.Fatalf("table\n%s\nwant the row\n%s", b.String(), want)
	}
	b.Reset()
	formatVariantPairs(&b, cfg, r, []cellKey{k})
	if b.Len() != 0 {
		t.Fatalf("the variants' table holds ours-h2:\n%s", b.String())
	}
}
