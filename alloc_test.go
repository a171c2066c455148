//go:build !race

package websocket

import (
	"io"
	"testing"
)

// This file is left out of -race builds: the race detector makes
// sync.Pool drop a quarter of what is put back, so pooled buffers would
// count as allocations. .ci/run runs it in a build of its own.

// TestStreamingDoesNotAllocate pins the zero-allocation promise of the
// streaming path: NextReader and NextWriter with the caller's buffers.
func TestStreamingDoesNotAllocate(t *testing.T) {
	c, _ := benchConn(100)
	buf := make([]byte, 256)
	reads := testing.AllocsPerRun(100, func() {
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
	writes := testing.AllocsPerRun(100, func() {
		w, err := c.NextWriter(BinaryMessage)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(buf)
		_ = w.Close()
	})
	one := testing.AllocsPerRun(100, func() { _, _, _ = c.ReadMessage() })
	echo := testing.AllocsPerRun(100, func() {
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
