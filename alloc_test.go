//go:build !race

package websocket

import (
	"context"
	"io"
	"testing"
	"unsafe"
)

// This file is left out of -race builds: the race detector makes
// sync.Pool drop a quarter of what is put back, so pooled buffers would
// count as allocations. .ci/run runs it in a build of its own.

// TestStreamingDoesNotAllocate pins the zero-allocation promise of the
// streaming path: NextReader and NextWriter with the caller's buffers.
func TestStreamingDoesNotAllocate(t *testing.T) {
	c, _ := benchConn(100)
	buf := make([]byte, 256)
	reads := readAllocs(t, c, buf)
	writes := testing.AllocsPerRun(100, func() {
		w, err := c.NextWriter(BinaryMessage)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(buf)
		_ = w.Close()
	})
	one := testing.AllocsPerRun(100, func() { _, _, _ = c.ReadMessage() })
	echo := echoAllocs(t, c)
	if reads != 0 || writes != 0 || one != 1 || echo != 0 {
		t.Errorf("allocations per message: NextReader %v, NextWriter %v, ReadMessage %v, io.Copy echo %v; want 0, 0, 1, 0", reads, writes, one, echo)
	}
}

// TestCompressedEchoDoesNotAllocate: without context takeover the
// compressor, the decompressor and their buffers come from pools for each
// message, so an echo of compressed messages allocates nothing either.
func TestCompressedEchoDoesNotAllocate(t *testing.T) {
	for _, n := range []int{1 << 10, 64 << 10} {
		c := benchDeflateConn(n)
		allocs := testing.AllocsPerRun(50, func() {
			if err := deflateEcho(c); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%d B compressed echo: %v allocations per message, want 0", n, allocs)
		}
	}
}

// benchClientConn is a client Conn whose server sends unmasked text
// messages of size bytes; what it writes is masked and dropped.
func benchClientConn(size int) *Conn {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	frame := serverFrameBytes(fin|wText, payload)
	var frames []byte
	for len(frames) < 64<<10 {
		frames = append(frames, frame...)
	}
	return newConn(&loopStream{frame: frames}, connConfig{role: roleClient}.withDefaults())
}

// TestClientDoesNotAllocate: the client's masking, with a fresh key per
// frame and large payloads copied through a pooled buffer, keeps the
// streaming path free of allocations, and WriteMessage too.
func TestClientDoesNotAllocate(t *testing.T) {
	c := benchClientConn(100)
	buf := make([]byte, 256)
	large := make([]byte, 100<<10)
	reads := readAllocs(t, c, buf)
	writes := testing.AllocsPerRun(100, func() {
		w, err := c.NextWriter(BinaryMessage)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(buf)
		_, _ = w.Write(large)
		_ = w.Close()
	})
	small := testing.AllocsPerRun(100, func() {
		if err := c.WriteMessage(BinaryMessage, buf); err != nil {
			t.Fatal(err)
		}
	})
	big := testing.AllocsPerRun(100, func() {
		if err := c.WriteMessage(BinaryMessage, large); err != nil {
			t.Fatal(err)
		}
	})
	echo := echoAllocs(t, c)
	if reads != 0 || writes != 0 || small != 0 || big != 0 || echo != 0 {
		t.Errorf("client allocations per message: NextReader %v, NextWriter %v, WriteMessage %v (small) %v (100 KiB), io.Copy echo %v; want 0",
			reads, writes, small, big, echo)
	}
}

// readAllocs measures reading a message through NextReader into buf.
func readAllocs(t *testing.T, c *Conn, buf []byte) float64 {
	return testing.AllocsPerRun(100, func() {
		_, r, err := c.NextReader()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
	})
}

// echoAllocs measures an echo of one message with io.Copy from
// NextReader's reader to NextWriter's writer.
func echoAllocs(t *testing.T, c *Conn) float64 {
	return testing.AllocsPerRun(100, func() {
		typ, r, err := c.NextReader()
		if err != nil {
			t.Fatal(err)
		}
		w, err := c.NextWriter(typ)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(w, r)
		_ = w.Close()
	})
}

// TestPreparedMessageDoesNotAllocate: writing a prepared message copies
// and allocates nothing on a server, plain or compressed once for all,
// nor on a client, which masks through a pooled buffer.
func TestPreparedMessageDoesNotAllocate(t *testing.T) {
	pm, err := NewPreparedMessage(TextMessage, jsonLike(1<<10))
	if err != nil {
		t.Fatal(err)
	}
	server, _ := benchConn(16)
	compressing := benchDeflateConn(16)
	client := benchClientConn(16)
	for name, c := range map[string]*Conn{"server": server, "compressing server": compressing, "client": client} {
		allocs := testing.AllocsPerRun(100, func() {
			if err := c.WritePreparedMessage(pm); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per prepared message, want 0", name, allocs)
		}
	}
}

// TestBroadcastDoesNotAllocate: a broadcast to many connections, with its
// 64 workers, allocates nothing once warm: no closure or counter per
// worker, nothing per connection.
func TestBroadcastDoesNotAllocate(t *testing.T) {
	pm, err := NewPreparedMessage(TextMessage, []byte("tick"))
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*Conn, 500)
	for i := range conns {
		conns[i], _ = benchConn(16)
	}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(20, func() {
		res, err := Broadcast(ctx, conns, pm)
		if err != nil || res.Delivered != len(conns) {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per broadcast to %d connections, want 0", allocs, len(conns))
	}
	// Several messages at once, gathered into one write per connection.
	allocs = testing.AllocsPerRun(20, func() {
		res, err := Broadcast(ctx, conns, pm, pm, pm)
		if err != nil || res.Delivered != len(conns) {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per broadcast of three messages to %d connections, want 0", allocs, len(conns))
	}
}

// TestConnSize: what every connection carries, idle or not, stays within
// the allocator's 768-byte class; what only some connections use (the
// heartbeat, compression, statistics, Serve) hangs off pointers.
func TestConnSize(t *testing.T) {
	if size := unsafe.Sizeof(Conn{}); size > 768 {
		t.Errorf("Conn is %d bytes, over the 768-byte size class", size)
	}
}
