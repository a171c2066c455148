package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The frame codec is tested on its own here, without a Conn: headers are
// written as bit strings so that each fixture can be checked by eye against
// the diagram of RFC 6455 section 5.2.

// fromBits turns a string of 0 and 1 digits into bytes, most significant bit
// first. Spaces only group the digits for the reader and are skipped. A
// malformed fixture is a bug in the test, so it panics.
//
// (It cannot be called bits: frame.go imports math/bits, and a file's import
// name may not also be declared in the package block.)
func fromBits(s string) []byte {
	var out []byte
	var cur byte
	n := 0
	for _, r := range s {
		switch r {
		case ' ':
			continue
		case '0', '1':
			cur = cur<<1 | byte(r-'0')
			n++
			if n%8 == 0 {
				out = append(out, cur)
				cur = 0
			}
		default:
			panic(fmt.Sprintf("fromBits: unexpected %q in %q", r, s))
		}
	}
	if n%8 != 0 {
		panic(fmt.Sprintf("fromBits: %d digits in %q is not a whole number of bytes", n, s))
	}
	return out
}

func TestFromBits(t *testing.T) {
	assert.Equal(t, []byte{0x81, 0x05}, fromBits("1000 0001  0000 0101"))
	assert.Equal(t, []byte{0xFF, 0x00, 0xA5}, fromBits("11111111 00000000 1010 0101"))
	assert.Empty(t, fromBits(""))
	assert.Panics(t, func() { fromBits("1010") })
	assert.Panics(t, func() { fromBits("1010 101x") })
}

// requireFrameProtocolError checks that err is a framing violation: a
// *protocolError carrying StatusProtocolError that matches ErrProtocol.
func requireFrameProtocolError(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var pe *protocolError
	require.True(t, errors.As(err, &pe), "error %v (%T) is not a *protocolError", err, err)
	require.Equal(t, StatusProtocolError, pe.code(), "close code of %v", err)
	require.ErrorIs(t, err, ErrProtocol)
}

// Pieces of fixtures. testMaskKeyBits is the key {0xA1, 0xB2, 0xC3, 0xD4}:
// four different bytes, so that a key read in the wrong order shows.
const testMaskKeyBits = "1010 0001  1011 0010  1100 0011  1101 0100"

var testMaskKey = [4]byte{0xA1, 0xB2, 0xC3, 0xD4}

// headerCase is one header on the wire and what readHeader and checkHeader
// make of it.
type headerCase struct {
	name    string
	in      string // the header as a bit string
	role    role   // the side reading it
	allowed byte   // allowedRSV given to checkHeader

	// readErr is the error readHeader must return: io.EOF and
	// io.ErrUnexpectedEOF must come back as they are, and ErrProtocol
	// stands for a *protocolError with StatusProtocolError.
	readErr error
	want    header // the decoded header when readHeader succeeds
	// checkErr says whether checkHeader must refuse the header.
	checkErr bool
}

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

// runHeaderCase reads c.in through wrap (a chunking reader) and checks the
// outcome of readHeader and checkHeader against the case.
func runHeaderCase(t *testing.T, c headerCase, wrap func(io.Reader) io.Reader) {
	t.Helper()
	in := fromBits(c.in)
	if c.readErr == nil {
		in = append(in, headerTrailer...)
	}
	br := bufio.NewReaderSize(wrap(bytes.NewReader(in)), 16)
	h, err := readHeader(br)
	switch {
	case c.readErr == ErrProtocol:
		requireFrameProtocolError(t, err)
		return
	case c.readErr != nil:
		// Exact identity: callers compare with == as well as errors.Is.
		require.Equal(t, c.readErr, err)
		return
	}
	require.NoError(t, err)
	require.Equal(t, c.want, h)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Equal(t, headerTrailer, rest, "readHeader consumed the wrong number of bytes")

	err = checkHeader(h, c.role, c.allowed)
	if c.checkErr {
		requireFrameProtocolError(t, err)
	} else {
		require.NoError(t, err)
	}
}

// chunkers are the ways the fixtures are fed to the bufio.Reader.
var chunkers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one-byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data-err", iotest.DataErrReader},
}

func TestReadCheckHeaderFixtures(t *testing.T) {
	t.Parallel()
	for _, c := range headerCases() {
		t.Run(c.name, func(t *testing.T) {
			runHeaderCase(t, c, chunkers[0].wrap)
		})
	}
}

func TestReadCheckHeaderChunked(t *testing.T) {
	t.Parallel()
	for _, ch := range chunkers[1:] {
		t.Run(ch.name, func(t *testing.T) {
			for _, c := range headerCases() {
				t.Run(c.name, func(t *testing.T) {
					runHeaderCase(t, c, ch.wrap)
				})
			}
		})
	}
}

// An error of the underlying reader other than EOF comes back as it is,
// whether or not part of the header had arrived.
func TestReadHeaderPassesReaderErrors(t *testing.T) {
	t.Parallel()
	errBroken := errors.New("broken reader")
	for _, n := range []int{0, 1, 2, 5} {
		full := fromBits("1 000 0001  1 0000101 " + testMaskKeyBits)
		r := io.MultiReader(bytes.NewReader(full[:n]), iotest.ErrReader(errBroken))
		_, err := readHeader(bufio.NewReaderSize(r, 16))
		require.ErrorIs(t, err, errBroken, "after %d bytes", n)
		require.NotErrorIs(t, err, ErrProtocol)
	}
}

// Two headers back to back are read one after the other.
func TestReadHeaderConsecutive(t *testing.T) {
	t.Parallel()
	in := fromBits("0 000 0001  1 0000000 " + testMaskKeyBits +
		"1 000 1001  1 0000000 " + testMaskKeyBits +
		"1 000 0000  0 1111110  00000001 00000000")
	for _, ch := range chunkers {
		br := bufio.NewReaderSize(ch.wrap(bytes.NewReader(in)), 16)
		want := []header{
			{op: opText, masked: true, maskKey: testMaskKey},
			{fin: true, op: opPing, masked: true, maskKey: testMaskKey},
			{fin: true, op: opContinuation, length: 256},
		}
		for i, w := range want {
			h, err := readHeader(br)
			require.NoError(t, err, "%s: header %d", ch.name, i)
			require.Equal(t, w, h, "%s: header %d", ch.name, i)
		}
		_, err := readHeader(br)
		require.Equal(t, io.EOF, err, ch.name)
	}
}

// The examples of RFC 6455 section 5.7, byte for byte.
func TestFrameRFCExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wire    []byte
		want    header
		payload string // unmasked
	}{
		{
			name:    "unmasked Hello",
			wire:    []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
			want:    header{fin: true, op: opText, length: 5},
			payload: "Hello",
		},
		{
			name:    "masked Hello",
			wire:    []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
			want:    header{fin: true, op: opText, masked: true, maskKey: [4]byte{0x37, 0xfa, 0x21, 0x3d}, length: 5},
			payload: "Hello",
		},
		{
			name:    "fragment Hel",
			wire:    []byte{0x01, 0x03, 0x48, 0x65, 0x6c},
			want:    header{op: opText, length: 3},
			payload: "Hel",
		},
		{
			name:    "fragment lo",
			wire:    []byte{0x80, 0x02, 0x6c, 0x6f},
			want:    header{fin: true, op: opContinuation, length: 2},
			payload: "lo",
		},
		{
			name:    "masked ping Hello",
			wire:    []byte{0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
			want:    header{fin: true, op: opPing, masked: true, maskKey: [4]byte{0x37, 0xfa, 0x21, 0x3d}, length: 5},
			payload: "Hello",
		},
		{
			name: "256 bytes binary",
			wire: []byte{0x82, 0x7E, 0x01, 0x00},
			want: header{fin: true, op: opBinary, length: 256},
		},
		{
			name: "64KiB binary",
			wire: []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00},
			want: header{fin: true, op: opBinary, length: 65536},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(bytes.NewReader(tt.wire), 16)
			h, err := readHeader(br)
			require.NoError(t, err)
			require.Equal(t, tt.want, h)
			body, err := io.ReadAll(br)
			require.NoError(t, err)
			if tt.payload != "" {
				if h.masked {
					mask(h.maskKey, 0, body)
				}
				require.Equal(t, tt.payload, string(body))
			}

			var buf [maxHeaderSize]byte
			n := putHeader(&buf, h)
			require.Equal(t, tt.wire[:len(tt.wire)-len(body)], buf[:n], "putHeader")
		})
	}
}

// headerSize is the encoded size of a header with this length and masking,
// using the shortest length encoding.
func headerSize(length int64, masked bool) int {
	n := 2
	switch {
	case length > 0xFFFF:
		n += 8
	case length > 125:
		n += 2
	}
	if masked {
		n += 4
	}
	return n
}

// roundTripLengths are the lengths at the edges of the three encodings.
var roundTripLengths = []int64{0, 1, 125, 126, 127, 65535, 65536, 1<<32 - 1, 1 << 32, math.MaxInt64}

func TestPutHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	shapes := []header{
		{fin: true, op: opText},
		{op: opBinary},
		{fin: true, op: opContinuation, rsv: rsv1},
		{fin: true, op: opPing},
		{fin: true, op: opClose, rsv: rsv1 | rsv2 | rsv3},
		{op: 0xF},
	}
	for _, shape := range shapes {
		for _, length := range roundTripLengths {
			for _, masked := range []bool{false, true} {
				h := shape
				h.length = length
				h.masked = masked
				if masked {
					h.maskKey = testMaskKey
				}
				name := fmt.Sprintf("op%#x/fin=%v/rsv=%#x/len=%d/masked=%v", byte(h.op), h.fin, h.rsv, length, masked)
				t.Run(name, func(t *testing.T) {
					var buf [maxHeaderSize]byte
					n := putHeader(&buf, h)
					require.Equal(t, headerSize(length, masked), n)

					// The 7-bit length field picks the shortest encoding.
					switch f := buf[1] & 0x7F; {
					case length <= 125:
						require.Equal(t, byte(length), f)
					case length <= 0xFFFF:
						require.Equal(t, byte(126), f)
						require.Equal(t, uint16(length), binary.BigEndian.Uint16(buf[2:]))
					default:
						require.Equal(t, byte(127), f)
						require.Equal(t, uint64(length), binary.BigEndian.Uint64(buf[2:]))
					}
					require.Equal(t, masked, buf[1]&0x80 != 0)
					if masked {
						require.Equal(t, testMaskKey[:], buf[n-4:n])
					}

					in := append(append([]byte(nil), buf[:n]...), headerTrailer...)
					for _, ch := range chunkers {
						br := bufio.NewReaderSize(ch.wrap(bytes.NewReader(in)), 16)
						got, err := readHeader(br)
						require.NoError(t, err, ch.name)
						require.Equal(t, h, got, ch.name)
						rest, err := io.ReadAll(br)
						require.NoError(t, err, ch.name)
						require.Equal(t, headerTrailer, rest, ch.name)
					}
				})
			}
		}
	}
}

// putHeader writes only the bytes it reports, so a reused buffer's old
// contents never leak into a shorter header.
func TestPutHeaderReusedBuffer(t *testing.T) {
	t.Parallel()
	var buf [maxHeaderSize]byte
	n := putHeader(&buf, header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 1 << 40})
	require.Equal(t, maxHeaderSize, n)
	n = putHeader(&buf, header{fin: true, op: opText, length: 5})
	require.Equal(t, fromBits("1 000 0001  0 0000101"), buf[:n])
}

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

// checkHeaderReference states the rules checkHeader must apply, written
// apart from it: the fuzz target compares the two.
func checkHeaderReference(h header, r role, allowed byte) bool {
	if h.rsv&^allowed != 0 {
		return false
	}
	if h.masked != (r == roleServer) {
		return false
	}
	switch h.op {
	case opContinuation, opText, opBinary:
		return true
	case opClose, opPing, opPong:
		return h.fin && h.length <= 125 && h.rsv&rsv1 == 0
	}
	return false
}

func FuzzReadHeader(f *testing.F) {
	for _, c := range headerCases() {
		f.Add(fromBits(c.in))
	}
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	f.Add([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add([]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 5})
	f.Add([]byte{})
	f.Add([]byte{0xFF})

	f.Fuzz(func(t *testing.T, data []byte) {
		rd := bytes.NewReader(data)
		br := bufio.NewReaderSize(rd, 16)
		h, err := readHeader(br)
		consumed := len(data) - rd.Len() - br.Buffered()

		// The size the input announces, from its first two bytes.
		size := 2
		if len(data) >= 2 {
			switch data[1] & 0x7F {
			case 126:
				size += 2
			case 127:
				size += 8
			}
			if data[1]&0x80 != 0 {
				size += 4
			}
		}
		topBit := len(data) >= 10 && data[1]&0x7F == 127 && data[2]&0x80 != 0

		if err != nil {
			require.Zero(t, consumed, "a failed read must consume nothing")
			switch {
			case len(data) == 0:
				require.Equal(t, io.EOF, err)
			case len(data) < size:
				require.Equal(t, io.ErrUnexpectedEOF, err)
			default:
				require.True(t, topBit, "unexpected error %v", err)
				requireFrameProtocolError(t, err)
			}
			return
		}
		require.GreaterOrEqual(t, len(data), size)
		require.False(t, topBit, "a length with its top bit set was accepted")
		require.Equal(t, size, consumed)

		// The fields come straight from the bytes.
		require.Equal(t, data[0]&0x80 != 0, h.fin)
		require.Equal(t, data[0]&0x70, h.rsv)
		require.Equal(t, opcode(data[0]&0x0F), h.op)
		require.Equal(t, data[1]&0x80 != 0, h.masked)
		require.GreaterOrEqual(t, h.length, int64(0))
		if h.masked {
			require.Equal(t, data[size-4:size], h.maskKey[:])
		} else {
			require.Equal(t, [4]byte{}, h.maskKey)
		}

		for _, r := range []role{roleServer, roleClient} {
			for _, allowed := range []byte{0, rsv1, rsv1 | rsv2 | rsv3} {
				err := checkHeader(h, r, allowed)
				if checkHeaderReference(h, r, allowed) {
					require.NoError(t, err, "role %d allowed %#x", r, allowed)
				} else {
					requireFrameProtocolError(t, err)
				}
			}
		}

		// Encoding the header again and reading that gives the same
		// fields. The bytes match too unless the input spent more bytes
		// on the length than needed.
		var buf [maxHeaderSize]byte
		n := putHeader(&buf, h)
		require.Equal(t, headerSize(h.length, h.masked), n)
		again, err := readHeader(bufio.NewReaderSize(bytes.NewReader(buf[:n]), 16))
		require.NoError(t, err)
		require.Equal(t, h, again)
		if n == size {
			require.Equal(t, data[:size], buf[:n])
		} else {
			require.Less(t, n, size)
		}
	})
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

// The codec runs once per frame: none of it may allocate.
func TestCodecDoesNotAllocate(t *testing.T) {
	h := header{fin: true, op: opBinary, masked: true, maskKey: testMaskKey, length: 70000}
	var buf [maxHeaderSize]byte
	wire := buf[:putHeader(&buf, h)]
	rd := bytes.NewReader(wire)
	br := bufio.NewReaderSize(rd, 16)
	payload := testPattern(100)
	text := []byte("texte en fran\u00e7ais \u20ac")

	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(wire)
		br.Reset(rd)
		got, err := readHeader(br)
		if err != nil || got != h {
			t.Fatalf("readHeader = %+v, %v", got, err)
		}
		if checkHeader(got, roleServer, 0) != nil {
			t.Fatal("checkHeader refused a valid header")
		}
		putHeader(&buf, got)
		mask(got.maskKey, 1, payload)
		var v utf8Validator
		if !v.feed(text) {
			t.Fatal("feed refused valid text")
		}
	})
	require.Zero(t, allocs)
}
