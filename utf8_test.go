package websocket

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The standard library's utf8.Valid is the oracle throughout: the
// validator must agree with it on every input, however the input is cut.

// utf8Outcome is what feeding a whole input to a fresh validator gives.
type utf8Outcome int

const (
	utf8Valid      utf8Outcome = iota // feed true, complete true
	utf8Invalid                       // feed false
	utf8Incomplete                    // feed true, complete false: a character is cut at the end
)

func (o utf8Outcome) String() string {
	return [...]string{"valid", "invalid", "incomplete"}[o]
}

var utf8Cases = []struct {
	name string
	in   string
	want utf8Outcome
}{
	{"empty", "", utf8Valid},
	{"ascii", "Hello, WebSocket!", utf8Valid},
	{"ascii/control and DEL", "\x00\x01\t\n\x1f\x7f", utf8Valid},
	{"ascii/long", strings.Repeat("abcdefgh", 9) + "xyz", utf8Valid},
	{"2-byte/U+0080", "\xc2\x80", utf8Valid},
	{"2-byte/U+00E9", "caf\u00e9", utf8Valid},
	{"2-byte/U+07FF", "\xdf\xbf", utf8Valid},
	{"3-byte/U+0800", "\xe0\xa0\x80", utf8Valid},
	{"3-byte/U+20AC", "\u20ac 5", utf8Valid},
	{"3-byte/U+D7FF", "\xed\x9f\xbf", utf8Valid},
	{"3-byte/U+E000", "\xee\x80\x80", utf8Valid},
	{"3-byte/U+FFFD", "\xef\xbf\xbd", utf8Valid},
	{"3-byte/U+FFFF", "\xef\xbf\xbf", utf8Valid},
	{"4-byte/U+10000", "\xf0\x90\x80\x80", utf8Valid},
	{"4-byte/U+1F600", "smile \U0001F600!", utf8Valid},
	{"4-byte/U+10FFFF", "\xf4\x8f\xbf\xbf", utf8Valid},
	{"mixed", "κόσμε \u20ac \U0001F600 " + strings.Repeat("x", 20) + "日本語", utf8Valid},
	{"multibyte after ascii words", strings.Repeat("a", 16) + "\xe2\x82\xac" + strings.Repeat("b", 13) + "\xc3\xa9", utf8Valid},

	{"overlong/C0 80", "\xc0\x80", utf8Invalid},
	{"overlong/C1 BF", "\xc1\xbf", utf8Invalid},
	{"overlong/E0 80 80", "\xe0\x80\x80", utf8Invalid},
	{"overlong/E0 9F BF", "\xe0\x9f\xbf", utf8Invalid},
	{"overlong/F0 80 80 80", "\xf0\x80\x80\x80", utf8Invalid},
	{"overlong/F0 8F BF BF", "\xf0\x8f\xbf\xbf", utf8Invalid},
	{"surrogate/ED A0 80", "\xed\xa0\x80", utf8Invalid},
	{"surrogate/ED BF BF", "\xed\xbf\xbf", utf8Invalid},
	{"surrogate/pair", "\xed\xa0\xbd\xed\xb8\x80", utf8Invalid},
	{"above U+10FFFF/F4 90 80 80", "\xf4\x90\x80\x80", utf8Invalid},
	{"above U+10FFFF/F4 BF BF BF", "\xf4\xbf\xbf\xbf", utf8Invalid},
	{"stray continuation/80", "\x80", utf8Invalid},
	{"stray continuation/BF after ascii", "ab\xbf", utf8Invalid},
	{"stray continuation/after character", "\xc3\xa9\x80", utf8Invalid},
	{"too many continuations", "\xe2\x82\xac\xac", utf8Invalid},
	{"lead/F5", "\xf5\x80\x80\x80", utf8Invalid},
	{"lead/F8", "\xf8\x88\x80\x80\x80", utf8Invalid},
	{"lead/FC", "\xfc\x84\x80\x80\x80\x80", utf8Invalid},
	{"lead/FE", "\xfe", utf8Invalid},
	{"lead/FF", "\xff", utf8Invalid},
	{"lead then ascii/C3 41", "\xc3A", utf8Invalid},
	{"lead then ascii/E2 82 41", "\xe2\x82A", utf8Invalid},
	{"lead then lead/F0 F0", "\xf0\xf0\x80\x80\x80", utf8Invalid},
	{"invalid inside ascii words", strings.Repeat("a", 13) + "\xff" + strings.Repeat("a", 20), utf8Invalid},
	{"invalid at end of ascii words", strings.Repeat("a", 16) + "\x80", utf8Invalid},
	{"surrogate inside Greek text", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64", utf8Invalid},

	{"truncated/C3", "\xc3", utf8Incomplete},
	{"truncated/E2 82", "\xe2\x82", utf8Incomplete},
	{"truncated/E2", "abc\xe2", utf8Incomplete},
	{"truncated/F0 9F 98", "\xf0\x9f\x98", utf8Incomplete},
	{"truncated/F4 8F", "\xf4\x8f", utf8Incomplete},
	{"truncated/after long ascii", strings.Repeat("z", 24) + "\xf0\x9f", utf8Incomplete},
}

func TestUTF8ValidatorTable(t *testing.T) {
	t.Parallel()
	for _, tc := range utf8Cases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			// The table itself agrees with the standard library.
			require.Equal(t, tc.want == utf8Valid, utf8.Valid(in), "the fixture is wrong")

			var v utf8Validator
			ok := v.feed(in)
			got := utf8Invalid
			if ok {
				got = utf8Incomplete
				if v.complete() {
					got = utf8Valid
				}
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want == utf8Valid, validUTF8(in))
		})
	}
}

// A cut character is completed by the next piece, whatever that piece
// holds after it.
func TestUTF8ValidatorResumes(t *testing.T) {
	t.Parallel()
	var v utf8Validator
	require.True(t, v.feed([]byte("\xf0")))
	require.False(t, v.complete())
	require.True(t, v.feed([]byte("\x9f")))
	require.False(t, v.complete())
	require.True(t, v.feed(nil), "an empty piece changes nothing")
	require.False(t, v.complete())
	require.True(t, v.feed([]byte("\x98\x80 and more text")))
	require.True(t, v.complete())

	// The range of the second byte is remembered across the cut.
	v = utf8Validator{}
	require.True(t, v.feed([]byte("\xed")))
	require.False(t, v.feed([]byte("\xa0\x80")), "a surrogate split after its lead byte")

	v = utf8Validator{}
	require.True(t, v.feed([]byte("\xe0")))
	require.False(t, v.feed([]byte("\x80\x80")), "an overlong split after its lead byte")

	// After the second byte, the third is any continuation byte.
	v = utf8Validator{}
	require.True(t, v.feed([]byte("\xf4\x8f")))
	require.True(t, v.feed([]byte("\xbf\xbf")))
	require.True(t, v.complete())
}

// feedSplit feeds in to a fresh validator in two pieces cut at i and
// reports the validator's verdict on the whole. A validator that refused a
// piece is spent, so the second piece is fed only after the first passed.
func feedSplit(in []byte, i int) bool {
	var v utf8Validator
	return v.feed(in[:i]) && v.feed(in[i:]) && v.complete()
}

// feedBytewise feeds in one byte at a time.
func feedBytewise(in []byte) bool {
	var v utf8Validator
	for i := range in {
		if !v.feed(in[i : i+1]) {
			return false
		}
	}
	return v.complete()
}

func TestUTF8ValidatorSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range utf8Cases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			want := utf8.Valid(in)
			for i := 0; i <= len(in); i++ {
				assert.Equal(t, want, feedSplit(in, i), "split at %d", i)
			}
			assert.Equal(t, want, feedBytewise(in), "byte by byte")
		})
	}
}

// Every sequence of one to four bytes drawn from the bytes at the edges of
// the UTF-8 ranges, judged whole and split in two, against utf8.Valid.
func TestUTF8ValidatorEdgeBytes(t *testing.T) {
	t.Parallel()
	edges := []byte{
		0x00, 0x41, 0x7F, // ASCII
		0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, // continuation bytes at range edges
		0xC0, 0xC1, 0xC2, 0xDF, // 2-byte leads, overlong and not
		0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, // 3-byte leads
		0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF, // 4-byte leads and beyond
	}
	seq := make([]byte, 0, 4)
	var walk func(depth int)
	failures := 0
	walk = func(depth int) {
		if len(seq) > 0 {
			want := utf8.Valid(seq)
			if got := validUTF8(seq); got != want {
				failures++
				t.Errorf("validUTF8(% x) = %v, want %v", seq, got, want)
			}
			for i := 1; i < len(seq); i++ {
				if got := feedSplit(seq, i); got != want {
					failures++
					t.Errorf("% x split at %d = %v, want %v", seq, i, got, want)
				}
			}
		}
		if depth == 0 || failures > 20 {
			return
		}
		for _, b := range edges {
			seq = append(seq, b)
			walk(depth - 1)
			seq = seq[:len(seq)-1]
		}
	}
	walk(4)
}

// Every code point there is, on its own and between ASCII words.
func TestUTF8ValidatorAllRunes(t *testing.T) {
	t.Parallel()
	var buf []byte
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			// Surrogates have no UTF-8 form; encode them the way a
			// careless encoder would, which must be refused.
			buf = append(buf[:0], 0xED, byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
			if validUTF8(buf) {
				t.Fatalf("surrogate U+%04X encoded as % x was accepted", r, buf)
			}
			continue
		}
		buf = utf8.AppendRune(buf[:0], r)
		if !validUTF8(buf) {
			t.Fatalf("U+%04X (% x) was refused", r, buf)
		}
		n := len(buf)
		buf = append(buf, "12345678"...)
		buf = append(buf, buf[:n]...)
		if !validUTF8(buf) {
			t.Fatalf("U+%04X among ASCII (% x) was refused", r, buf)
		}
		if !feedSplit(buf, n-1) {
			t.Fatalf("U+%04X cut before its last byte was refused", r)
		}
	}
}

func FuzzUTF8Validator(f *testing.F) {
	for _, tc := range utf8Cases {
		f.Add([]byte(tc.in), uint(len(tc.in)/2))
	}
	f.Add(bytes.Repeat([]byte("\u20ac"), 40), uint(7))
	f.Add([]byte(strings.Repeat("w", 31)+"\xf4\x90\x80\x80"), uint(33))

	f.Fuzz(func(t *testing.T, data []byte, split uint) {
		want := utf8.Valid(data)
		require.Equal(t, want, validUTF8(data), "whole")
		i := int(split % uint(len(data)+1))
		require.Equal(t, want, feedSplit(data, i), "split at %d", i)
		require.Equal(t, want, feedBytewise(data), "byte by byte")

		// A prefix the validator accepts is a prefix of some valid text:
		// when it is also complete, utf8.Valid agrees on that prefix.
		var v utf8Validator
		if v.feed(data[:i]) && v.complete() {
			require.True(t, utf8.Valid(data[:i]), "prefix % x", data[:i])
		}
	})
}
