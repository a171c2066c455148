package websocket

import (
	"io"
	"net"
	"testing"
	"time"
)

// loopStream is an in-memory stream for benchmarks: reads replay frames
// forever, writes are counted and dropped. It measures the Conn alone.
type loopStream struct {
	frame   []byte
	off     int
	written int64
}

func (s *loopStream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], s.frame[s.off:])
		n += k
		s.off = (s.off + k) % len(s.frame)
	}
	return n, nil
}

func (s *loopStream) Write(p []byte) (int, error)      { s.written += int64(len(p)); return len(p), nil }
func (s *loopStream) SetReadDeadline(time.Time) error  { return nil }
func (s *loopStream) SetWriteDeadline(time.Time) error { return nil }
func (s *loopStream) CloseWrite() error                { return nil }
func (s *loopStream) Close() error                     { return nil }
func (s *loopStream) LocalAddr() net.Addr              { return nil }
func (s *loopStream) RemoteAddr() net.Addr             { return nil }

var benchSizes = []struct {
	name string
	size int
}{{"16B", 16}, {"1KiB", 1 << 10}, {"64KiB", 64 << 10}}

// benchConn is a server Conn whose peer sends text messages of size bytes.
func benchConn(size int) (*Conn, *loopStream) {
	p := &peer{key: [4]byte{0x12, 0x34, 0x56, 0x78}}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	frame := p.frame(fin|wText, payload)
	// Many frames in a row, so that a read copies in large pieces.
	var frames []byte
	for len(frames) < 64<<10 {
		frames = append(frames, frame...)
	}
	s := &loopStream{frame: frames}
	return newConn(s, (&Upgrader{}).config("")), s
}

func BenchmarkReadMessage(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			c, _ := benchConn(bs.size)
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNextReader reads into a reused buffer: the streaming path, which
// should not allocate.
func BenchmarkNextReader(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			c, _ := benchConn(bs.size)
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				_, r, err := c.NextReader()
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := r.Read(buf); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func BenchmarkWriteMessage(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			c, _ := benchConn(1)
			msg := make([]byte, bs.size)
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(BinaryMessage, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNextWriter(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			c, _ := benchConn(1)
			msg := make([]byte, bs.size)
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				w, err := c.NextWriter(TextMessage)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = w.Write(msg[:len(msg)/2])
				_, _ = w.Write(msg[len(msg)/2:])
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEcho copies each message into a new one with io.Copy, as an echo
// server does: through WriteTo and ReadFrom, without allocating.
func BenchmarkEcho(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			c, _ := benchConn(bs.size)
			benchEcho(b, c, bs.size)
		})
	}
}

// BenchmarkEchoStats is BenchmarkEcho with Upgrader.Stats set: the price
// of counting, without the system calls that hide it in a real echo.
// Compare with benchstat, run interleaved with BenchmarkEcho.
func BenchmarkEchoStats(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			c, _ := benchConn(bs.size)
			c.counts = newConnCounts(&connConfig{stats: new(Stats)})
			benchEcho(b, c, bs.size)
		})
	}
}

// benchEcho reads each message and writes it back with io.Copy.
func benchEcho(b *testing.B, c *Conn, size int) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		typ, r, err := c.NextReader()
		if err != nil {
			b.Fatal(err)
		}
		w, err := c.NextWriter(typ)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
