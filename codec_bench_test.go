package websocket

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// Benchmarks of the frame codec and the UTF-8 validator. None of them
// should allocate: they run once per frame or per read.

func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			buf := testPattern(size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			pos := 0
			for b.Loop() {
				pos = mask(key, pos, buf)
			}
		})
	}
}

func BenchmarkUTF8Validator(b *testing.B) {
	texts := []struct {
		name string
		unit string
	}{
		{"ascii", "The quick brown fox jumps over the lazy dog. "},
		{"multibyte", "Съешь же ещё этих мягких булок, 日本語のテキスト \U0001F600 "},
	}
	for _, text := range texts {
		for _, size := range []int{1 << 10, 64 << 10} {
			b.Run(text.name+"/"+strconv.Itoa(size), func(b *testing.B) {
				p := []byte(strings.Repeat(text.unit, size/len(text.unit)+1))
				// Cut at a character boundary no further than size.
				p = p[:size]
				for !validUTF8(p) {
					p = p[:len(p)-1]
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(p)))
				for b.Loop() {
					var v utf8Validator
					if !v.feed(p) || !v.complete() {
						b.Fatal("valid text refused")
					}
				}
			})
		}
	}
}

func BenchmarkReadHeader(b *testing.B) {
	headers := []struct {
		name string
		h    header
	}{
		{"7-bit/masked", header{fin: true, op: opText, masked: true, maskKey: testMaskKey, length: 100}},
		{"16-bit/masked", header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 4096}},
		{"64-bit/unmasked", header{fin: true, op: opBinary, length: 1 << 20}},
	}
	for _, hc := range headers {
		b.Run(hc.name, func(b *testing.B) {
			var buf [maxHeaderSize]byte
			wire := buf[:putHeader(&buf, hc.h)]
			rd := bytes.NewReader(wire)
			br := bufio.NewReaderSize(rd, 16)
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				rd.Reset(wire)
				br.Reset(rd)
				h, err := readHeader(br)
				if err != nil || h != hc.h {
					b.Fatalf("readHeader = %+v, %v", h, err)
				}
			}
		})
	}
}

func BenchmarkPutHeader(b *testing.B) {
	headers := []struct {
		name string
		h    header
	}{
		{"7-bit/unmasked", header{fin: true, op: opText, length: 100}},
		{"16-bit/unmasked", header{fin: true, op: opBinary, length: 4096}},
		{"64-bit/masked", header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 1 << 20}},
	}
	for _, hc := range headers {
		b.Run(hc.name, func(b *testing.B) {
			var buf [maxHeaderSize]byte
			n := putHeader(&buf, hc.h)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				putHeader(&buf, hc.h)
			}
		})
	}
}
