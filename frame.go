package websocket

import (
	"encoding/binary"
	"io"
	"math/bits"
)

// This file is the frame codec of RFC 6455 section 5: pure functions over
// bytes that know nothing of Conn, so that a client, an HTTP/2 stream or a
// fuzzer can use them as they are.

// opcode is a frame's opcode (section 5.2).
type opcode uint8

const (
	opContinuation opcode = 0x0
	opText         opcode = 0x1
	opBinary       opcode = 0x2
	opClose        opcode = 0x8
	opPing         opcode = 0x9
	opPong         opcode = 0xA
)

// isControl reports whether op is a control opcode (0x8 to 0xF).
func (op opcode) isControl() bool { return op&0x8 != 0 }

// role is the side of the connection a codec speaks for: it decides which
// way masking goes (section 5.1).
type role uint8

const (
	roleServer role = iota // reads masked frames, writes unmasked ones
	roleClient             // reads unmasked frames, writes masked ones
)

const (
	// maxHeaderSize is the longest frame header: 2 bytes, a 64-bit length
	// and a mask key.
	maxHeaderSize = 14
	// maxControlPayload is the most a control frame may carry (section 5.5).
	maxControlPayload = 125
)

// The RSV bits as they stand in a header's first byte. RSV1 is kept for
// permessage-deflate (RFC 7692); RSV2 and RSV3 have no extension yet.
const (
	rsv1 = 0x40
	rsv2 = 0x20
	rsv3 = 0x10
)

// header is a decoded frame header.
type header struct {
	fin     bool
	rsv     byte // the RSV bits, masked from the first byte (rsv1|rsv2|rsv3)
	op      opcode
	masked  bool
	maskKey [4]byte
	length  int64
}

// peeker is the buffered reader readHeader reads from: a *bufio.Reader, or
// the Conn's own buffer.
type peeker interface {
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// readHeader decodes one frame header from br without copying. A length
// whose most significant bit is set is rejected here, since no int64 can
// hold it; every other rule is checkHeader's.
func readHeader(br peeker) (header, error) {
	b, err := br.Peek(2)
	if err != nil {
		return header{}, unexpectedEOF(err, len(b))
	}
	h := header{
		fin:    b[0]&0x80 != 0,
		rsv:    b[0] & (rsv1 | rsv2 | rsv3),
		op:     opcode(b[0] & 0x0F),
		masked: b[1]&0x80 != 0,
	}
	size := 2
	length := int64(b[1] & 0x7F)
	switch length {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if h.masked {
		size += 4
	}
	if b, err = br.Peek(size); err != nil {
		return header{}, unexpectedEOF(err, len(b))
	}
	switch length {
	case 126:
		length = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		n := binary.BigEndian.Uint64(b[2:])
		// [RFC6455 5.2]: "the most significant bit MUST be 0".
		if n>>63 != 0 {
			return header{}, protocolErrorf(ErrProtocol, "frame length has its most significant bit set")
		}
		length = int64(n)
	}
	h.length = length
	if h.masked {
		copy(h.maskKey[:], b[size-4:size])
	}
	_, _ = br.Discard(size) // cannot fail: size bytes were peeked
	return h, nil
}

// unexpectedEOF turns an EOF inside a header into io.ErrUnexpectedEOF, and
// keeps io.EOF for a stream that ended cleanly between frames.
func unexpectedEOF(err error, got int) error {
	if err == io.EOF && got > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

// checkHeader applies the framing rules of section 5 to a header read by the
// given role. allowedRSV holds the RSV bits a negotiated extension gave a
// meaning to (none today). It returns a *protocolError carrying code 1002.
func checkHeader(h header, r role, allowedRSV byte) error {
	// [RFC6455 5.2]: "If a nonzero value is received and none of the
	// negotiated extensions defines the meaning of such a nonzero value,
	// the receiving endpoint MUST _Fail the WebSocket Connection_."
	if h.rsv&^allowedRSV != 0 {
		return protocolErrorf(ErrProtocol, "reserved bits set without a negotiated extension")
	}
	// [RFC6455 5.1]: "The server MUST close the connection upon receiving a
	// frame that is not masked" and the client one that is.
	if r == roleServer && !h.masked {
		return protocolErrorf(ErrProtocol, "client frame is not masked")
	}
	if r == roleClient && h.masked {
		return protocolErrorf(ErrProtocol, "server frame is masked")
	}
	switch h.op {
	case opContinuation, opText, opBinary:
		return nil
	case opClose, opPing, opPong:
		// [RFC6455 5.5]: "All control frames MUST have a payload length of
		// 125 bytes or less and MUST NOT be fragmented."
		if !h.fin {
			return protocolErrorf(ErrProtocol, "fragmented control frame")
		}
		if h.length > maxControlPayload {
			return protocolErrorf(ErrProtocol, "control frame longer than 125 bytes")
		}
		if h.rsv&rsv1 != 0 {
			return protocolErrorf(ErrProtocol, "compressed control frame")
		}
		return nil
	}
	return protocolErrorf(ErrProtocol, "reserved opcode %#x", byte(h.op))
}

// putHeader encodes h at the start of b and returns its size.
func putHeader(b *[maxHeaderSize]byte, h header) int {
	b[0] = byte(h.op) | h.rsv
	if h.fin {
		b[0] |= 0x80
	}
	var n int
	switch {
	case h.length <= 125:
		b[1] = byte(h.length)
		n = 2
	case h.length <= 0xFFFF:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(h.length))
		n = 4
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(h.length))
		n = 10
	}
	if h.masked {
		b[1] |= 0x80
		n += copy(b[n:], h.maskKey[:])
	}
	return n
}

// mask XORs b with key, starting at offset pos of the key stream, and
// returns the offset for the bytes that follow b. Masking is its own
// inverse, so it also unmasks. The bulk runs in blocks of 64 bytes
// (maskBlocks: AVX2 registers where the CPU has them, machine words
// elsewhere), the rest eight bytes at a time.
func mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	if len(b) >= 16 {
		// A 64-bit word of the key stream, rotated so that its first byte
		// is key[pos].
		k32 := binary.LittleEndian.Uint32(key[:])
		k32 = bits.RotateLeft32(k32, -8*pos)
		k64 := uint64(k32) | uint64(k32)<<32
		if n := len(b) &^ 63; n > 0 {
			maskBlocks(b[:n], k64)
			b = b[n:]
		}
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}

// maskWords XORs b, whose length is a multiple of 32, with the key stream
// k64 repeated, a machine word at a time.
func maskWords(b []byte, k64 uint64) {
	for len(b) >= 32 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k64)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k64)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k64)
		b = b[32:]
	}
}
