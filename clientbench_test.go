package websocket

import (
	"testing"
)

// BenchmarkClientWriteMessage is BenchmarkWriteMessage in the client's
// role: the same path plus a mask key per frame and the masking, which
// for large messages copies the payload through a pooled buffer.
func BenchmarkClientWriteMessage(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			c := newConn(&loopStream{frame: serverFrameBytes(fin|wText, []byte("x"))}, connConfig{role: roleClient}.withDefaults())
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
