package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// allServers is every echo server the bench can run: the compared
// libraries and the variants.
func allServers() []string {
	libs := slices.Clone(defaultLibs)
	for v := range variants {
		libs = append(libs, v)
	}
	slices.Sort(libs)
	return libs
}

// TestEcho runs the load generator against every server, in process and
// over loopback, for a few round trips of each message size, and checks
// each echo byte for byte and the client-initiated closing handshake.
func TestEcho(t *testing.T) {
	for _, lib := range allServers() {
		t.Run(lib, func(t *testing.T) {
			t.Parallel()
			s, err := startEcho(lib)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			d := newLoadDialer(lib)
			defer d.close()
			dials := 0
			for _, size := range []int{0, 16, 125, 126, 1 << 10, 4096, 64 << 10, 100_000} {
				if size == 0 && lib == "nbio" {
					// nbio v1.6.8 never calls OnMessage for an empty
					// message (Conn.Parse collects only frames with a
					// payload); no cell sends one.
					continue
				}
				c, err := d.dial(s.Addr(), nil, 4096, 10*time.Second, compressNone)
				if err != nil {
					t.Fatalf("%d bytes: dial: %v", size, err)
				}
				_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
				payload := make([]byte, size)
				for i := range 3 {
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
					if !bytes.Equal(got, payload) {
						t.Fatalf("%d bytes, round trip %d: echo differs (%d bytes back)", size, i, len(got))
					}
				}
				if err := c.closeHandshake(10 * time.Second); err != nil {
					t.Fatalf("%d bytes: client close: %v", size, err)
				}
				dials++
			}
			if err := checkH2(lib, s.snapshot(false), dials); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCloseStorm has each server close a few connections at once and
// checks that every one ended, cleanly where the library waits for the
// peer's close frame.
func TestCloseStorm(t *testing.T) {
	const n = 20
	for _, lib := range allServers() {
		t.Run(lib, func(t *testing.T) {
			t.Parallel()
			s, clients := startDialed(t, lib, n, compressNone, 10*time.Second, true)
			if got := s.live(); got != n {
				t.Fatalf("server tracks %d connections, want %d", got, n)
			}
			outcomes := make([]closeOutcome, n)
			deadline := time.Now().Add(20 * time.Second)
			var wg sync.WaitGroup
			for i, c := range clients {
				wg.Go(func() { outcomes[i], _ = c.answerClose(deadline) })
			}
			if started := s.closeAll(); started != n {
				t.Fatalf("closeAll started %d closes, want %d", started, n)
			}
			wg.Wait()
			var counts [numOutcomes]int
			for _, o := range outcomes {
				counts[o]++
			}
			summary := fmt.Sprint(counts)
			if counts[outTimeout] > 0 || counts[outOther] > 0 || counts[outNoCloseFrame] > 0 {
				t.Fatalf("outcomes %s (%v)", summary, outcomeNames)
			}
			if waits(lib) && counts[outClean] != n {
				t.Fatalf("outcomes %s (%v): want all clean", summary, outcomeNames)
			}
		})
	}
}

// TestMaskCopy checks the client's masking against the RFC's byte-wise
// definition (section 5.3).
func TestMaskCopy(t *testing.T) {
	for n := range 40 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rand.Uint32())
		}
		key := rand.Uint32()
		got := make([]byte, n)
		maskCopy(got, src, key)
		k := [4]byte{byte(key), byte(key >> 8), byte(key >> 16), byte(key >> 24)}
		for i := range src {
			if want := src[i] ^ k[i%4]; got[i] != want {
				t.Fatalf("length %d, byte %d: %#x, want %#x", n, i, got[i], want)
			}
		}
	}
}

// TestDeflateEcho runs the compressing load generator against every server
// with permessage-deflate on: it checks the negotiated mode, then echoes
// JSON text of both cell sizes, short and empty messages, and incompressible
// binary (which our server sends in several frames), all on one connection
// so that context takeover carries across messages of every kind.
func TestDeflateEcho(t *testing.T) {
	random := make([]byte, 100_000)
	for i := range random {
		random[i] = byte(rand.Uint32())
	}
	for _, lib := range deflateLibs {
		t.Run(lib, func(t *testing.T) {
			t.Parallel()
			s, err := startEcho(lib)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			mode := deflateMode(lib)
			c, err := dialWSDeflate(s.Addr(), nil, 4096, 10*time.Second, mode)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			_ = c.nc.SetDeadline(time.Now().Add(20 * time.Second))
			if c.deflate == nil || c.deflate.readContext != (mode == compressContext) || c.deflate.writeContext != (mode == compressContext) {
				t.Fatalf("negotiated %+v for mode %d", c.deflate, mode)
			}
			type msg struct {
				name string
				op   byte
				next func(int) []byte
			}
			var msgs []msg
			for _, size := range []int{1 << 10, 64 << 10} {
				next, op := messages(cellKey{size: size, json: true}, 0)
				msgs = append(msgs, msg{sizeName(size) + " JSON", op, next})
			}
			msgs = append(msgs,
				msg{"16 B text", opText, func(int) []byte { return []byte("sixteen bytes!!!") }},
				msg{"empty", opBinary, func(int) []byte { return nil }},
				msg{"100000 B random", opBinary, func(int) []byte { return random }},
			)
			for k := range 3 {
				for _, m := range msgs {
					if err := c.roundTrip(m.op, m.next(k)); err != nil {
						t.Fatalf("%s, round trip %d: %v", m.name, k, err)
					}
				}
			}
			// The JSON compresses: fewer bytes came back than went out
			// uncompressed.
			if c.recv == 0 || c.sent == 0 {
				t.Fatalf("bytes on the wire not counted: sent %d, received %d", c.sent, c.recv)
			}
			if err := c.closeHandshake(10 * time.Second); err != nil {
				t.Fatalf("client close: %v", err)
			}
		})
	}
}

// TestDeflateWire checks that compressed JSON crosses the wire smaller
// than it is, in both directions, against our server.
func TestDeflateWire(t *testing.T) {
	s, err := startEcho("ours-deflate")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := dialWSDeflate(s.Addr(), nil, 4096, 10*time.Second, compressNoContext)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	next, op := messages(cellKey{size: 1 << 10, json: true}, 0)
	if err := c.roundTrip(op, next(0)); err != nil {
		t.Fatal(err)
	}
	if c.sent >= 1<<10 || c.recv >= 1<<10 || c.recv < 100 {
		t.Fatalf("1 KiB of JSON: %d bytes sent, %d received", c.sent, c.recv)
	}
	_ = c.closeHandshake(10 * time.Second)
}

// TestParseDeflateAnswer checks which permessage-deflate responses the load
// generator accepts for each offer.
func TestParseDeflateAnswer(t *testing.T) {
	for _, tc := range []struct {
		mode compression
		resp string
		ok   bool
	}{
		{compressNoContext, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", true},
		{compressNoContext, "permessage-deflate;client_no_context_takeover;server_no_context_takeover", true},
		{compressNoContext, "permessage-deflate; server_no_context_takeover", false},
		{compressContext, "permessage-deflate", true},
		{compressContext, "permessage-deflate; client_max_window_bits=15; server_max_window_bits=10", true},
		{compressContext, "permessage-deflate; client_max_window_bits=12", false},
		{compressContext, "permessage-deflate; server_no_context_takeover", false},
		{compressContext, "permessage-deflate; server_max_window_bits", false},
		{compressContext, "permessage-deflate; foo", false},
		{compressContext, "permessage-deflate, permessage-deflate", false},
		{compressContext, "", false},
		{compressNone, "", true},
		{compressNone, "permessage-deflate", false},
	} {
		var values []string
		if tc.resp != "" {
			values = []string{tc.resp}
		}
		_, err := tc.mode.accept(values)
		if (err == nil) != tc.ok {
			t.Errorf("mode %d, %q: error %v, want ok %v", tc.mode, tc.resp, err, tc.ok)
		}
	}
}

// TestJSONMessage checks the JSON payloads: exact size, valid JSON, still
// valid with any counter, and the same bytes on every call.
func TestJSONMessage(t *testing.T) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for v := range jsonVariants {
			b, at := jsonMessage(size, v)
			again, _ := jsonMessage(size, v)
			if len(b) != size || !bytes.Equal(b, again) {
				t.Fatalf("size %d, variant %d: %d bytes, deterministic %v", size, v, len(b), bytes.Equal(b, again))
			}
			stampSeq(b, at, 0xdeadbeef12345678)
			var doc struct {
				Seq   string           `json:"seq"`
				Items []map[string]any `json:"items"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("size %d, variant %d: %v", size, v, err)
			}
			if doc.Seq != "deadbeef12345678" || len(doc.Items) == 0 {
				t.Fatalf("size %d, variant %d: seq %q, %d items", size, v, doc.Seq, len(doc.Items))
			}
		}
	}
}

// TestPairedRatios: ours is divided by the peer with the lowest median,
// repetition by repetition, skipping repetitions either side lacks; the
// peer that was lowest only once does not set the bar.
func TestPairedRatios(t *testing.T) {
	vals := map[string]map[int]float64{
		"ours":   {0: 1.0, 1: 1.2, 2: 0.9, 3: 1.1},
		"lucky":  {0: 0.5, 1: 1.5, 2: 1.5, 3: 1.5}, // lowest in repetition 0 only
		"steady": {0: 1.0, 1: 1.0, 2: 1.0},         // lowest median; repetition 3 failed
	}
	get := func(l string) map[int]float64 { return vals[l] }
	pr, peer := pairedRatios(4, "ours", []string{"ours", "lucky", "steady"}, func(string) bool { return true }, get)
	if peer != "steady" {
		t.Fatalf("best peer %q, want steady", peer)
	}
	want := []float64{1.0, 1.2, 0.9}
	if len(pr) != len(want) {
		t.Fatalf("ratios %v, want %v", pr, want)
	}
	for i := range want {
		if math.Abs(pr[i]-want[i]) > 1e-9 {
			t.Fatalf("ratios %v, want %v", pr, want)
		}
	}
	if got := describePaired(pr); got != "median 1.00x, from 0.90x to 1.20x, at or below it in 2 of 3" {
		t.Errorf("describePaired: %q", got)
	}
	// keep leaves a peer out, as the storm leaves out gws.
	_, peer = pairedRatios(4, "ours", []string{"ours", "lucky", "steady"}, func(l string) bool { return l != "steady" }, get)
	if peer != "lucky" {
		t.Errorf("with steady left out, best peer %q, want lucky", peer)
	}
}

// TestClientEcho runs every client of the client comparison against our
// server, in process and over loopback, for a few round trips of each
// message size, each echo checked byte for byte by the client, then
// closes the connection the client's way.
func TestClientEcho(t *testing.T) {
	s, err := startEcho("ours")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() }) // after the parallel subtests
	for lib := range clientVariants {
		t.Run(lib, func(t *testing.T) {
			t.Parallel()
			for _, size := range []int{0, 16, 125, 126, 1 << 10, 4096, 64 << 10, 100_000} {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, err := dialEcho(ctx, lib, s.Addr(), size)
				cancel()
				if err != nil {
					t.Fatalf("%d bytes: dial: %v", size, err)
				}
				next, _ := messages(cellKey{size: size, conns: 1}, 0)
				var stop atomic.Bool
				n, err := c.run(next, 0, 3, &stop)
				if err != nil || n != 3 {
					t.Fatalf("%d bytes: %d round trips, error %v", size, n, err)
				}
				// A second phase goes on where the first ended.
				stop.Store(true)
				if n, err := c.run(next, 3, 3, &stop); err != nil || n != 0 {
					t.Fatalf("%d bytes, stopped: %d round trips, error %v", size, n, err)
				}
				stop.Store(false)
				if n, err := c.run(next, 3, 2, &stop); err != nil || n != 2 {
					t.Fatalf("%d bytes, second phase: %d round trips, error %v", size, n, err)
				}
				c.close()
			}
		})
	}
}

// TestCheckEcho: an echo of another type, length or content is an error.
func TestCheckEcho(t *testing.T) {
	want := []byte("hello")
	for _, tc := range []struct {
		same bool
		got  []byte
		ok   bool
	}{
		{true, []byte("hello"), true},
		{false, []byte("hello"), false},
		{true, []byte("hell"), false},
		{true, []byte("hellO"), false},
	} {
		if err := checkEcho(tc.same, tc.got, want); (err == nil) != tc.ok {
			t.Errorf("same type %v, %q: error %v", tc.same, tc.got, err)
		}
	}
	if _, err := readInto(bytes.NewReader([]byte("hello!")), make([]byte, 6)); err != errEchoLong {
		t.Errorf("readInto of a message as long as the buffer: %v, want errEchoLong", err)
	}
}

// TestLoadPhases runs a client process's work in process, for every
// client: dial, warm-up, "ready", the start line, the measured phase and
// its figures as JSON.
func TestLoadPhases(t *testing.T) {
	s, err := startEcho("ours")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() }) // after the parallel subtests
	for lib := range clientVariants {
		t.Run(lib, func(t *testing.T) {
			t.Parallel()
			o := loadOptions{lib: lib, addr: s.Addr(), size: 1 << 10, conns: 3,
				warm: 20 * time.Millisecond, dur: 50 * time.Millisecond, maxRTs: 1_000_000}
			inR, inW := io.Pipe()
			outR, outW := io.Pipe()
			errc := make(chan error, 1)
			go func() {
				err := runLoad(o, inR, outW, "")
				outW.CloseWithError(err)
				errc <- err
			}()
			out := bufio.NewReader(outR)
			if line, err := out.ReadString('\n'); line != "ready\n" {
				t.Fatalf("first line %q, error %v", line, err)
			}
			if _, err := io.WriteString(inW, "go\n"); err != nil {
				t.Fatal(err)
			}
			line, err := out.ReadString('\n')
			if err != nil {
				t.Fatalf("figures: %v", err)
			}
			var st loadStats
			if err := json.Unmarshal([]byte(line), &st); err != nil {
				t.Fatalf("figures %q: %v", line, err)
			}
			if st.RoundTrips == 0 || st.Seconds < 0.04 || st.CPU <= 0 {
				t.Fatalf("figures %+v", st)
			}
			_, _ = io.Copy(io.Discard, out)
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReadmeSections: the client comparison's results go between their
// own markers in README.md and leave the server comparison's alone, and
// the other way round.
func TestReadmeSections(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReadmeSection(path, clientMarkStart, clientMarkEnd, "CLIENTS"); err != nil {
		t.Fatal(err)
	}
	if err := writeReadme(path, "SERVERS"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{
		markStart + "\nSERVERS\n" + markEnd,
		clientMarkStart + "\nCLIENTS\n" + clientMarkEnd,
	} {
		if strings.Count(s, want) != 1 {
			t.Errorf("README.md does not hold %q once", want)
		}
	}
}

// startDialed starts lib's echo server and dials n clients to it the way
// its variant says, offering offer, each with a deadline of wait; with
// registered, each makes a round trip, so that the server has registered
// it before the test goes on. The server, its dialer and the clients end
// with the test.
func startDialed(t *testing.T, lib string, n int, offer compression, wait time.Duration, registered bool) (*echoServer, []*wsClient) {
	t.Helper()
	s, err := startEcho(lib)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d := newLoadDialer(lib)
	t.Cleanup(d.close)
	clients := make([]*wsClient, n)
	for i := range clients {
		c, err := d.dial(s.Addr(), nil, 4096, 10*time.Second, offer)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.nc.Close() })
		_ = c.nc.SetDeadline(time.Now().Add(wait))
		if registered {
			if err := c.roundTrip(opBinary, []byte("hello")); err != nil {
				t.Fatal(err)
			}
		}
		clients[i] = c
	}
	return s, clients
}
