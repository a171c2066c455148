package websocket

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/flate"
)

// jsonLike returns n bytes of the repetitive JSON that chat and API
// traffic is made of.
func jsonLike(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user%d","text":"hello world number %d","tags":["a","b"],"ok":true},`, i, i%37, i*7)
	}
	return b.Bytes()[:n]
}

// BenchmarkDeflateLibraries compresses one message as the no-context
// mode does (reset, write, sync flush) with the standard library and with
// klauspost/compress, the choice the README explains. out-bytes is the
// compressed size.
func BenchmarkDeflateLibraries(b *testing.B) {
	type compressor interface {
		io.Writer
		Flush() error
		Reset(io.Writer)
	}
	for _, n := range []int{1 << 10, 64 << 10} {
		msg := jsonLike(n)
		var out bytes.Buffer
		std, _ := stdflate.NewWriter(&out, stdflate.BestSpeed)
		kp, _ := flate.NewWriter(&out, flate.BestSpeed)
		for name, w := range map[string]compressor{"std": std, "klauspost": kp} {
			b.Run(fmt.Sprintf("%s/%dB", name, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					out.Reset()
					w.Reset(&out)
					_, _ = w.Write(msg)
					_ = w.Flush()
				}
				b.ReportMetric(float64(out.Len()), "out-bytes")
			})
		}
	}
}

// benchDeflateConn is a server Conn that negotiated permessage-deflate
// without context takeover, whose peer sends JSON-like text messages of
// size bytes, each compressed in one frame.
func benchDeflateConn(size int) *Conn {
	var out bytes.Buffer
	fw, _ := stdflate.NewWriter(&out, stdflate.BestSpeed)
	_, _ = fw.Write(jsonLike(size))
	_ = fw.Flush()
	payload := bytes.TrimSuffix(out.Bytes(), deflateTail[:])
	p := &peer{key: [4]byte{0x12, 0x34, 0x56, 0x78}}
	frame := p.frame(fin|rsv1|wText, payload)
	var frames []byte
	for len(frames) < 64<<10 || len(frames)%len(frame) != 0 {
		frames = append(frames, frame...)
	}
	cfg := (&Upgrader{}).config("")
	cfg.deflate = &deflateParams{localNoContext: true, peerNoContext: true}
	return newConn(&loopStream{frame: frames}, cfg)
}

// BenchmarkDeflateEcho inflates each message and compresses it back with
// io.Copy, as a compressing echo server does.
func BenchmarkDeflateEcho(b *testing.B) {
	for _, n := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			c := benchDeflateConn(n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := deflateEcho(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func deflateEcho(c *Conn) error {
	typ, r, err := c.NextReader()
	if err != nil {
		return err
	}
	w, err := c.NextWriter(typ)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return w.Close()
}

// BenchmarkDeflateWindow compresses one message on its own within each
// window a peer may ask for (server_max_window_bits): the whole window
// is BestSpeed, a smaller one klauspost's windowed encoder. out-bytes is
// the compressed size.
func BenchmarkDeflateWindow(b *testing.B) {
	for _, n := range []int{1 << 10, 64 << 10} {
		msg := jsonLike(n)
		for _, bits := range []int{8, 9, 10, 12, 14, 15} {
			b.Run(fmt.Sprintf("%dB/%dbits", n, bits), func(b *testing.B) {
				var out bytes.Buffer
				b.SetBytes(int64(n))
				for b.Loop() {
					out.Reset()
					fw := getFlateWriter(&out, bits)
					_, _ = fw.Write(msg)
					_ = fw.Flush()
					putFlateWriter(fw, bits)
				}
				b.ReportMetric(float64(out.Len()), "out-bytes")
			})
		}
	}
}
