package main

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestBroadcast has every server, with compression off and (for those that
// compress without context takeover) on, broadcast messages of both cell
// sizes to a few clients, each of which checks every message byte for
// byte and in order; the server's report must count every write.
func TestBroadcast(t *testing.T) {
	const clients, count = 4, 20
	libs := allServers()
	for _, l := range deflateLibs {
		if deflateMode(l) == compressNoContext {
			libs = append(libs, l)
		}
	}
	for _, lib := range libs {
		t.Run(lib, func(t *testing.T) {
			t.Parallel()
			s, cs := startDialed(t, lib, clients, deflateMode(lib), 20*time.Second, true)
			for _, size := range []int{16, 1 << 10} {
				want := broadcastMessages(count, size)
				errs := make([]error, clients)
				var wg sync.WaitGroup
				for i, c := range cs {
					wg.Go(func() { _, errs[i] = receiveBroadcast(c, want) })
				}
				rep := s.broadcast(count, size, false)
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("%d B, client %d: %v", size, i, err)
					}
				}
				if rep.Err != "" || rep.Conns != clients || rep.Delivered != clients*count || rep.Failed != 0 {
					t.Fatalf("%d B: server report %+v, want %d connections and %d messages delivered", size, rep, clients, clients*count)
				}
			}
		})
	}
}

// TestBroadcastMessage: messages of a broadcast differ, start with their
// number, and are the same in every process that builds them.
func TestBroadcastMessage(t *testing.T) {
	a, b := broadcastMessages(3, 1<<10), broadcastMessages(3, 1<<10)
	for i := range a {
		if len(a[i]) != 1<<10 || !bytes.Equal(a[i], b[i]) {
			t.Fatalf("message %d: %d bytes, the same twice: %v", i, len(a[i]), bytes.Equal(a[i], b[i]))
		}
		if want := fmt.Sprintf("%016x", i); string(a[i][:16]) != want {
			t.Fatalf("message %d starts %q, want %q", i, a[i][:16], want)
		}
	}
	if bytes.Equal(a[0][16:], a[1][16:]) {
		t.Fatal("messages 0 and 1 have the same text after their number")
	}
}

// TestBroadcastColumns: a broadcast table's column is the library itself
// without compression and its -deflate server with it, if the run has
// one; the cells with compression exist only when such a server does.
func TestBroadcastColumns(t *testing.T) {
	cfg := defaultConfig(false)
	cfg.libs = defaultRun
	on := broadcastKey{size: 16, conns: 10, deflate: true}
	off := broadcastKey{size: 16, conns: 10}
	for _, tc := range []struct {
		key       broadcastKey
		lib, want string
	}{
		{off, "gorilla", "gorilla"},
		{on, "gorilla", "gorilla-deflate"},
		{on, "ours", "ours-deflate"},
		{on, "ours-serve", ""},
	} {
		if got := broadcastServer(cfg, tc.key, tc.lib); got != tc.want {
			t.Errorf("%s, %s: %q, want %q", tc.key, tc.lib, got, tc.want)
		}
	}
	if n := len(broadcastKeys(cfg)); n != 8 {
		t.Errorf("%d broadcast cells, want 8", n)
	}
	cfg.deflateLibs = []string{"ours-deflate-ctx"} // context takeover only
	for _, k := range broadcastKeys(cfg) {
		if k.deflate {
			t.Errorf("cell %s without a compressing server that broadcasts", k)
		}
	}
}
