package websocket

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadBufChunks reads through every kind of short read, starting with
// the bytes the HTTP server had read ahead, and holds no buffer once all
// is read.
func TestReadBufChunks(t *testing.T) {
	const text = "0123456789abcdefghijklmnopqrstuvwxyz"
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+EOF": iotest.DataErrReader,
	} {
		t.Run(name, func(t *testing.T) {
			b := newReadBuf(wrap(strings.NewReader(text[4:])), nil, &bufferPool{size: 16}, []byte(text[:4]))
			p, err := b.Peek(6)
			require.NoError(t, err)
			assert.Equal(t, text[:6], string(p))
			n, err := b.Discard(2)
			require.NoError(t, err)
			assert.Equal(t, 2, n)
			var got []byte
			buf := make([]byte, 5)
			for {
				n, err := b.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
			}
			assert.Equal(t, text[2:], string(got))
			assert.Nil(t, b.big, "the buffer went back to the pool")
		})
	}
}

// TestReadBufLargeRead bypasses the buffer for a read larger than it.
func TestReadBufLargeRead(t *testing.T) {
	src := bytes.Repeat([]byte("x"), 100)
	b := newReadBuf(bytes.NewReader(src), nil, &bufferPool{size: 16}, nil)
	p := make([]byte, 64)
	n, err := b.Read(p)
	require.NoError(t, err)
	assert.Equal(t, 64, n)
	assert.Nil(t, b.big)
}

// TestReadBufErrors returns a source's error after the bytes before it,
// once, and a short Peek with it.
func TestReadBufErrors(t *testing.T) {
	boom := errors.New("boom")
	b := newReadBuf(io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(boom)), nil, &bufferPool{size: 16}, nil)
	p, err := b.Peek(3)
	assert.Equal(t, "ab", string(p))
	assert.Equal(t, boom, err)
	n, err := b.Discard(5)
	assert.Equal(t, 2, n)
	assert.Equal(t, boom, err)
	var w bytes.Buffer
	_, err = b.WriteTo(&w)
	assert.Equal(t, boom, err)
}

// TestReadBufWriteTo drains a source to its end.
func TestReadBufWriteTo(t *testing.T) {
	b := newReadBuf(iotest.HalfReader(strings.NewReader(strings.Repeat("z", 50))), nil, &bufferPool{size: 16}, []byte("pre"))
	var w bytes.Buffer
	n, err := b.WriteTo(&w)
	require.NoError(t, err)
	assert.Equal(t, int64(53), n)
	assert.Equal(t, "pre"+strings.Repeat("z", 50), w.String())
}

// TestReadBufPeekNothing: an empty control frame peeks zero bytes of an
// empty buffer without reading.
func TestReadBufPeekNothing(t *testing.T) {
	b := newReadBuf(iotest.ErrReader(errors.New("must not read")), nil, &bufferPool{size: 16}, nil)
	p, err := b.Peek(0)
	assert.NoError(t, err)
	assert.Empty(t, p)
}
