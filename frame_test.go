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
