package websocket

// The frame header fixtures: every header the codec must read, or refuse.

import (
	"fmt"
	"io"
	"math"
)

// headerCases returns the fixture table shared by the whole-buffer and the
// chunked-reader tests.
func headerCases() []headerCase {
	// Bit strings are laid out as on the wire:
	//   FIN RSV1 RSV2 RSV3 opcode(4)   MASK length(7)   [extended length]   [key]
	cases := []headerCase{
		// Frames a client sends to the server: masked.
		{
			name: "server/text/len0",
			in:   "1 000 0001  1 0000000 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opText, masked: true, maskKey: testMaskKey, length: 0},
		},
		{
			name: "server/binary/len125",
			in:   "1 000 0010  1 1111101 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 125},
		},
		{
			name: "server/binary/len126",
			in:   "1 000 0010  1 1111110  00000000 01111110 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 126},
		},
		{
			name: "server/binary/len65535",
			in:   "1 000 0010  1 1111110  11111111 11111111 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 65535},
		},
		{
			name: "server/binary/len65536",
			in: "1 000 0010  1 1111111 " +
				"00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 65536},
		},
		{
			name: "server/binary/len2^32",
			in: "1 000 0010  1 1111111 " +
				"00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 1 << 32},
		},
		{
			name: "server/binary/len2^63-1",
			in: "1 000 0010  1 1111111 " +
				"01111111 11111111 11111111 11111111 11111111 11111111 11111111 11111111 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: math.MaxInt64},
		},
		{
			name: "server/text/not-final",
			in:   "0 000 0001  1 0000101 " + testMaskKeyBits,
			role: roleServer,
			want: header{op: opText, masked: true, maskKey: testMaskKey, length: 5},
		},
		{
			name: "server/continuation/final",
			in:   "1 000 0000  1 0000011 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opContinuation, masked: true, maskKey: testMaskKey, length: 3},
		},
		{
			name: "server/close/len125",
			in:   "1 000 1000  1 1111101 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opClose, masked: true, maskKey: testMaskKey, length: 125},
		},
		{
			name: "server/ping/len0",
			in:   "1 000 1001  1 0000000 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opPing, masked: true, maskKey: testMaskKey},
		},
		{
			name: "server/pong/len4",
			in:   "1 000 1010  1 0000100 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opPong, masked: true, maskKey: testMaskKey, length: 4},
		},
		{
			// The RFC wants the shortest length encoding from the sender;
			// the codec reads a longer one for what it says.
			name: "server/text/len5-in-16-bits",
			in:   "1 000 0001  1 1111110  00000000 00000101 " + testMaskKeyBits,
			role: roleServer,
			want: header{fin: true, op: opText, masked: true, maskKey: testMaskKey, length: 5},
		},

		// Frames a server sends to the client: unmasked.
		{
			name: "client/text/len0",
			in:   "1 000 0001  0 0000000",
			role: roleClient,
			want: header{fin: true, op: opText},
		},
		{
			name: "client/binary/len125",
			in:   "1 000 0010  0 1111101",
			role: roleClient,
			want: header{fin: true, op: opBinary, length: 125},
		},
		{
			name: "client/binary/len126",
			in:   "1 000 0010  0 1111110  00000000 01111110",
			role: roleClient,
			want: header{fin: true, op: opBinary, length: 126},
		},
		{
			name: "client/binary/len65535",
			in:   "1 000 0010  0 1111110  11111111 11111111",
			role: roleClient,
			want: header{fin: true, op: opBinary, length: 65535},
		},
		{
			name: "client/binary/len65536",
			in: "1 000 0010  0 1111111 " +
				"00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000",
			role: roleClient,
			want: header{fin: true, op: opBinary, length: 65536},
		},
		{
			name: "client/binary/len2^32",
			in: "1 000 0010  0 1111111 " +
				"00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000",
			role: roleClient,
			want: header{fin: true, op: opBinary, length: 1 << 32},
		},
		{
			name: "client/close/len2",
			in:   "1 000 1000  0 0000010",
			role: roleClient,
			want: header{fin: true, op: opClose, length: 2},
		},

		// Masking in the wrong direction (section 5.1).
		{
			name:     "server/text/unmasked",
			in:       "1 000 0001  0 0000101",
			role:     roleServer,
			want:     header{fin: true, op: opText, length: 5},
			checkErr: true,
		},
		{
			name:     "server/ping/unmasked",
			in:       "1 000 1001  0 0000000",
			role:     roleServer,
			want:     header{fin: true, op: opPing},
			checkErr: true,
		},
		{
			name:     "client/text/masked",
			in:       "1 000 0001  1 0000101 " + testMaskKeyBits,
			role:     roleClient,
			want:     header{fin: true, op: opText, masked: true, maskKey: testMaskKey, length: 5},
			checkErr: true,
		},
		{
			name: "client/binary/len65536/masked",
			in: "1 000 0010  1 1111111 " +
				"00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000 " + testMaskKeyBits,
			role:     roleClient,
			want:     header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 65536},
			checkErr: true,
		},

		// Reserved bits (section 5.2).
		{
			name:     "rsv1/not-allowed",
			in:       "1 100 0001  1 0000001 " + testMaskKeyBits,
			role:     roleServer,
			want:     header{fin: true, rsv: rsv1, op: opText, masked: true, maskKey: testMaskKey, length: 1},
			checkErr: true,
		},
		{
			name:     "rsv2/not-allowed",
			in:       "1 010 0001  1 0000001 " + testMaskKeyBits,
			role:     roleServer,
			want:     header{fin: true, rsv: rsv2, op: opText, masked: true, maskKey: testMaskKey, length: 1},
			checkErr: true,
		},
		{
			name:     "rsv3/not-allowed",
			in:       "1 001 0010  0 0000001",
			role:     roleClient,
			want:     header{fin: true, rsv: rsv3, op: opBinary, length: 1},
			checkErr: true,
		},
		{
			name:     "rsv123/not-allowed",
			in:       "1 111 0010  0 0000001",
			role:     roleClient,
			want:     header{fin: true, rsv: rsv1 | rsv2 | rsv3, op: opBinary, length: 1},
			checkErr: true,
		},
		{
			name:    "rsv1/allowed",
			in:      "1 100 0001  1 0000001 " + testMaskKeyBits,
			role:    roleServer,
			allowed: rsv1,
			want:    header{fin: true, rsv: rsv1, op: opText, masked: true, maskKey: testMaskKey, length: 1},
		},
		{
			name:    "rsv1/allowed/first-fragment",
			in:      "0 100 0010  0 0000001",
			role:    roleClient,
			allowed: rsv1,
			want:    header{rsv: rsv1, op: opBinary, length: 1},
		},
		{
			name:     "rsv2/only-rsv1-allowed",
			in:       "1 010 0001  1 0000001 " + testMaskKeyBits,
			role:     roleServer,
			allowed:  rsv1,
			want:     header{fin: true, rsv: rsv2, op: opText, masked: true, maskKey: testMaskKey, length: 1},
			checkErr: true,
		},
		{
			name:     "rsv1-and-rsv3/only-rsv1-allowed",
			in:       "1 101 0001  1 0000001 " + testMaskKeyBits,
			role:     roleServer,
			allowed:  rsv1,
			want:     header{fin: true, rsv: rsv1 | rsv3, op: opText, masked: true, maskKey: testMaskKey, length: 1},
			checkErr: true,
		},
		{
			// RFC 7692 section 6.1: control frames are never compressed.
			name:     "rsv1/allowed/ping",
			in:       "1 100 1001  1 0000000 " + testMaskKeyBits,
			role:     roleServer,
			allowed:  rsv1,
			want:     header{fin: true, rsv: rsv1, op: opPing, masked: true, maskKey: testMaskKey},
			checkErr: true,
		},

		// Control frame rules (section 5.5).
		{
			name:     "close/not-final",
			in:       "0 000 1000  1 0000010 " + testMaskKeyBits,
			role:     roleServer,
			want:     header{op: opClose, masked: true, maskKey: testMaskKey, length: 2},
			checkErr: true,
		},
		{
			name:     "ping/not-final",
			in:       "0 000 1001  1 0000000 " + testMaskKeyBits,
			role:     roleServer,
			want:     header{op: opPing, masked: true, maskKey: testMaskKey},
			checkErr: true,
		},
		{
			name:     "pong/not-final",
			in:       "0 000 1010  0 0000000",
			role:     roleClient,
			want:     header{op: opPong},
			checkErr: true,
		},
		{
			name:     "close/len126",
			in:       "1 000 1000  1 1111110  00000000 01111110 " + testMaskKeyBits,
			role:     roleServer,
			want:     header{fin: true, op: opClose, masked: true, maskKey: testMaskKey, length: 126},
			checkErr: true,
		},
		{
			name:     "ping/len126",
			in:       "1 000 1001  0 1111110  00000000 01111110",
			role:     roleClient,
			want:     header{fin: true, op: opPing, length: 126},
			checkErr: true,
		},
		{
			name: "pong/len65536",
			in: "1 000 1010  1 1111111 " +
				"00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000 " + testMaskKeyBits,
			role:     roleServer,
			want:     header{fin: true, op: opPong, masked: true, maskKey: testMaskKey, length: 65536},
			checkErr: true,
		},

		// A 64-bit length must have its top bit clear (section 5.2).
		{
			name: "len64/top-bit",
			in: "1 000 0010  1 1111111 " +
				"10000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 " + testMaskKeyBits,
			role:    roleServer,
			readErr: ErrProtocol,
		},
		{
			name: "len64/all-ones",
			in: "1 000 0010  0 1111111 " +
				"11111111 11111111 11111111 11111111 11111111 11111111 11111111 11111111",
			role:    roleClient,
			readErr: ErrProtocol,
		},

		// Truncated headers.
		{name: "truncated/empty", in: "", role: roleServer, readErr: io.EOF},
		{name: "truncated/1-byte", in: "1 000 0001", role: roleServer, readErr: io.ErrUnexpectedEOF},
		{
			name:    "truncated/in-key",
			in:      "1 000 0001  1 0000101  10100001 10110010 11000011",
			role:    roleServer,
			readErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "truncated/no-key",
			in:      "1 000 0001  1 0000101",
			role:    roleServer,
			readErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "truncated/in-len16",
			in:      "1 000 0010  0 1111110  00000001",
			role:    roleClient,
			readErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "truncated/no-len16",
			in:      "1 000 0010  0 1111110",
			role:    roleClient,
			readErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "truncated/in-len64",
			in:      "1 000 0010  0 1111111  00000000 00000000 00000000 00000000 00000000 00000001 00000000",
			role:    roleClient,
			readErr: io.ErrUnexpectedEOF,
		},
		{
			name: "truncated/len64-then-no-key",
			in: "1 000 0010  1 1111111 " +
				"00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000",
			role:    roleServer,
			readErr: io.ErrUnexpectedEOF,
		},
		{
			// The top bit is there, but the key is not: the header is cut
			// short before it can be judged.
			name: "truncated/len64-top-bit-then-no-key",
			in: "1 000 0010  1 1111111 " +
				"10000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000",
			role:    roleServer,
			readErr: io.ErrUnexpectedEOF,
		},
	}

	// Reserved opcodes, data (0x3-0x7) and control (0xB-0xF), in both
	// directions.
	for _, op := range []opcode{0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		cases = append(cases,
			headerCase{
				name:     fmt.Sprintf("server/reserved-opcode-%#x", byte(op)),
				in:       fmt.Sprintf("1 000 %04b  1 0000000 %s", byte(op), testMaskKeyBits),
				role:     roleServer,
				want:     header{fin: true, op: op, masked: true, maskKey: testMaskKey},
				checkErr: true,
			},
			headerCase{
				name:     fmt.Sprintf("client/reserved-opcode-%#x", byte(op)),
				in:       fmt.Sprintf("1 000 %04b  0 0000001", byte(op)),
				role:     roleClient,
				allowed:  rsv1,
				want:     header{fin: true, op: op, length: 1},
				checkErr: true,
			},
		)
	}
	return cases
}

// headerTrailer follows every complete header in the fixtures, standing for
// the payload: readHeader must leave it unread.
var headerTrailer = []byte("payload!")
