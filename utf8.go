package websocket

import "encoding/binary"

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

// complete reports whether the input fed so far ends on a character
// boundary, as the end of a text message must.
func (v *utf8Validator) complete() bool { return v.need == 0 }

// validUTF8 reports whether p alone is valid UTF-8.
func validUTF8(p []byte) bool {
	var v utf8Validator
	return v.feed(p) && v.complete()
}
