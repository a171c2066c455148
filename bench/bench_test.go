package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
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
			for _, size := range []int{0, 16, 125, 126, 1 << 10, 4096, 64 << 10, 100_000} {
				c, err := dialWS(s.Addr(), nil, 4096, 10*time.Second)
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
			s, err := startEcho(lib)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			clients := make([]*wsClient, n)
			for i := range clients {
				c, err := dialWS(s.Addr(), nil, 4096, 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
				// A round trip: the server has registered the connection
				// before it echoes.
				if err := c.roundTrip([]byte("hello")); err != nil {
					t.Fatal(err)
				}
				clients[i] = c
			}
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
