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
