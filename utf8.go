package websocket

import (
	"encoding/binary"
	"unicode/utf8"
)

// utf8Validator checks UTF-8 a piece at a time, so that a text message can
// be failed at the first invalid fragment (RFC 6455 section 8.1) even when a
// character is split between two frames. The zero value is ready, at the
// start of a character.
type utf8Validator struct {
	need   uint8 // continuation bytes the current character still needs
	lo, hi byte  // the range its next continuation byte must fall in
}

// feed checks p as the continuation of everything fed before. It returns
// false at the first byte that cannot be part of valid UTF-8; the validator
// is then spent and must be reset.
func (v *utf8Validator) feed(p []byte) bool {
	need, lo, hi := v.need, v.lo, v.hi
	i := 0
	if need == 0 {
		// Whole characters go to the standard library, which checks
		// multi-byte text several times faster than the loop below;
		// the loop takes a character cut at the end of p.
		cut := lastBoundary(p)
		if !utf8.Valid(p[:cut]) {
			return false
		}
		i = cut
	}
	for i < len(p) {
		if need > 0 {
			if b := p[i]; b < lo || b > hi {
				return false
			}
			need--
			lo, hi = 0x80, 0xBF
			i++
			continue
		}
		// ASCII, a machine word at a time.
		for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&0x8080808080808080 == 0 {
			i += 8
		}
		if i == len(p) {
			break
		}
		b := p[i]
		i++
		// The ranges of the second byte follow RFC 3629 section 4: they
		// leave out overlong forms, surrogates and code points past U+10FFFF.
		switch {
		case b < 0x80:
			continue
		case b >= 0xC2 && b <= 0xDF:
			need, lo, hi = 1, 0x80, 0xBF
		case b == 0xE0:
			need, lo, hi = 2, 0xA0, 0xBF
		case b == 0xED:
			need, lo, hi = 2, 0x80, 0x9F
		case b >= 0xE1 && b <= 0xEF:
			need, lo, hi = 2, 0x80, 0xBF
		case b == 0xF0:
			need, lo, hi = 3, 0x90, 0xBF
		case b >= 0xF1 && b <= 0xF3:
			need, lo, hi = 3, 0x80, 0xBF
		case b == 0xF4:
			need, lo, hi = 3, 0x80, 0x8F
		default:
			return false
		}
	}
	v.need, v.lo, v.hi = need, lo, hi
	return true
}

// lastBoundary returns where the last character of p starts when that
// character may be cut short by the end of p, and len(p) otherwise.
func lastBoundary(p []byte) int {
	// A character is at most 4 bytes: its lead byte is among the last 3
	// if it is cut short.
	for k := len(p) - 1; k >= 0 && k >= len(p)-3; k-- {
		b := p[k]
		switch {
		case b < 0x80:
			return len(p) // ASCII ends p: nothing is cut
		case b >= 0xC0:
			// A lead byte: cut short unless its character fits.
			size := 2
			if b >= 0xF0 {
				size = 4
			} else if b >= 0xE0 {
				size = 3
			}
			if k+size > len(p) {
				return k
			}
			return len(p)
		}
		// A continuation byte: keep looking back.
	}
	return len(p)
}

// complete reports whether the input fed so far ends on a character
// boundary, as the end of a text message must.
func (v *utf8Validator) complete() bool { return v.need == 0 }

// validUTF8 reports whether p alone is valid UTF-8.
func validUTF8(p []byte) bool {
	var v utf8Validator
	return v.feed(p) && v.complete()
}
