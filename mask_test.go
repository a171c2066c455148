package websocket

// Masking against a byte-at-a-time reference.

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// maskReference is the obvious byte-by-byte masking of section 5.3: octet i
// of the data is XORed with octet (pos+i) mod 4 of the key.
func maskReference(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)%4]
	}
	return (pos + len(b)) % 4
}

// testPattern returns n bytes that differ from each other and from their
// neighbours' positions, so that a shifted key or a skipped byte shows.
func testPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*37 + 11)
	}
	return b
}

func TestMaskAgainstReference(t *testing.T) {
	t.Parallel()
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	// Up to several 64-byte blocks, with every length of tail after them.
	for n := 0; n <= 300; n++ {
		for pos := 0; pos < 8; pos++ {
			// A sub-slice at an odd offset: the fast path must not assume
			// any alignment.
			for _, off := range []int{0, 1, 3} {
				src := testPattern(n + off)[off:]
				want := bytes.Clone(src)
				wantPos := maskReference(key, pos, want)
				got := bytes.Clone(src)
				gotPos := mask(key, pos, got)
				require.Equal(t, want, got, "n=%d pos=%d off=%d", n, pos, off)
				require.Equal(t, wantPos, gotPos, "n=%d pos=%d off=%d", n, pos, off)
				require.Equal(t, (pos+n)&3, gotPos)

				// Masking is its own inverse.
				mask(key, pos, got)
				require.Equal(t, src, got, "unmask n=%d pos=%d", n, pos)
			}
		}
	}
}

// maskWords, the word loop behind maskBlocks where AVX2 is missing, checked
// on its own, also on a machine where maskBlocks takes the AVX2 path.
func TestMaskWords(t *testing.T) {
	t.Parallel()
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	k64 := uint64(binary.LittleEndian.Uint32(key[:])) * 0x1_0000_0001
	for n := 0; n <= 256; n += 32 {
		src := testPattern(n)
		want := bytes.Clone(src)
		maskReference(key, 0, want)
		got := bytes.Clone(src)
		maskWords(got, k64)
		require.Equal(t, want, got, "n=%d", n)
	}
}

// mask touches only the slice it is given.
func TestMaskStaysInBounds(t *testing.T) {
	t.Parallel()
	key := [4]byte{0xFF, 0xFF, 0xFF, 0xFF}
	for n := 0; n <= 200; n++ {
		buf := make([]byte, n+16)
		mask(key, 1, buf[8:8+n])
		require.Equal(t, make([]byte, 8), buf[:8], "n=%d", n)
		require.Equal(t, make([]byte, 8), buf[8+n:], "n=%d", n)
		require.Equal(t, bytes.Repeat([]byte{0xFF}, n), buf[8:8+n], "n=%d", n)
	}
}

// Masking a payload in two pieces, carrying the returned position over,
// gives the same bytes as masking it at once: this is how a payload read in
// several Read calls is unmasked.
func TestMaskSplit(t *testing.T) {
	t.Parallel()
	key := [4]byte{0xDE, 0xAD, 0xBE, 0xEF}
	for n := 0; n <= 100; n++ {
		src := testPattern(n)
		for pos := 0; pos < 4; pos++ {
			want := bytes.Clone(src)
			maskReference(key, pos, want)
			for split := 0; split <= n; split++ {
				got := bytes.Clone(src)
				mid := mask(key, pos, got[:split])
				require.Equal(t, (pos+split)%4, mid, "n=%d pos=%d split=%d", n, pos, split)
				end := mask(key, mid, got[split:])
				require.Equal(t, (pos+n)%4, end, "n=%d pos=%d split=%d", n, pos, split)
				require.Equal(t, want, got, "n=%d pos=%d split=%d", n, pos, split)
			}
		}
	}
}

func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x37fa213d), uint8(0), uint16(0))
	f.Add(testPattern(100), uint32(0x01020304), uint8(3), uint16(17))
	f.Add(testPattern(33), uint32(0xFFFFFFFF), uint8(2), uint16(32))
	f.Add([]byte{}, uint32(0), uint8(1), uint16(0))

	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos uint8, split uint16) {
		var key [4]byte
		binary.BigEndian.PutUint32(key[:], k)
		p := int(pos)

		want := bytes.Clone(data)
		wantPos := maskReference(key, p, want)

		got := bytes.Clone(data)
		require.Equal(t, wantPos, mask(key, p, got))
		require.Equal(t, want, got)

		i := int(split) % (len(data) + 1)
		got = bytes.Clone(data)
		mid := mask(key, p, got[:i])
		require.Equal(t, wantPos, mask(key, mid, got[i:]))
		require.Equal(t, want, got)
	})
}
