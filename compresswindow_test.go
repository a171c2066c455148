package websocket

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSentTail: whatever the sizes written, the tail is the last window
// bytes of everything given, and the buffer stays within a few windows.
func TestSentTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, window := range []int{256, 1 << 10, windowSize} {
		tl := sentTail{window: window}
		var all []byte
		for i := range 2000 {
			n := rng.IntN(window / 4)
			if i%97 == 0 {
				n = window + rng.IntN(window) // larger than the window at once
			}
			p := make([]byte, n)
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			tl.add(p)
			all = append(all, p...)
			want := all[max(0, len(all)-window):]
			require.True(t, bytes.Equal(want, tl.tail()), "window %d, write %d", window, i)
			require.LessOrEqual(t, len(tl.buf), 2*window)
			if i%500 == 0 {
				tl.shrink()
				require.Equal(t, len(want), cap(tl.buf), "an idle connection holds the tail alone")
				require.True(t, bytes.Equal(want, tl.tail()))
			}
		}
	}
}

// TestPooledCompressorForgetsDictionary: a compressor primed with a
// connection's tail and given back must not bring that dictionary to the
// next borrower, whose peer does not have it.
func TestPooledCompressorForgetsDictionary(t *testing.T) {
	msg := jsonLike(2000)
	for _, bits := range []int{10, maxWindowBits} {
		var out bytes.Buffer
		fw := getFlateWriter(&out, bits)
		fw.ResetDict(&out, msg) // a connection's tail
		putFlateWriter(fw, bits)

		// The next borrower compresses on its own (no context takeover);
		// its peer inflates without any dictionary.
		out.Reset()
		fw = getFlateWriter(&out, bits)
		_, _ = fw.Write(msg)
		require.NoError(t, fw.Flush())
		putFlateWriter(fw, bits)
		got, err := io.ReadAll(flate.NewReader(io.MultiReader(&out, bytes.NewReader(deflateTail[:]))))
		if err == io.ErrUnexpectedEOF {
			err = nil // the stream stops after the sync flush
		}
		require.NoError(t, err, "%d bits", bits)
		require.True(t, bytes.Equal(msg, got), "%d bits", bits)
	}
}

// TestIdleCompressorGivenBack: under context takeover a connection keeps
// its compressor while it writes; once it has written nothing for a sweep
// it gives the compressor back and keeps only the tail of what it sent.
// The next message borrows one primed with that tail: the peer inflates
// it with its own window, and it compresses as well as with the kept
// compressor, since it refers back into the previous message.
func TestIdleCompressorGivenBack(t *testing.T) {
	for _, tc := range []struct {
		offer  string
		window int
	}{
		{"permessage-deflate", windowSize},
		{"permessage-deflate; server_max_window_bits=10", 1 << 10},
	} {
		t.Run(tc.offer, func(t *testing.T) {
			u := &Upgrader{Compression: CompressionContextTakeover, CompressionThreshold: -1}
			p, c, _ := connectDeflate(t, u, tc.offer)
			sweeper := &compressorSweeper{} // swept by hand only
			c.deflate.sweeper = sweeper

			msg := jsonLike(900) // fits the smaller window too
			send := func() int {
				t.Helper()
				require.NoError(t, c.WriteMessage(TextMessage, msg))
				f, err := p.readFrame()
				require.NoError(t, err)
				require.NotZero(t, f.first&rsv1, "compressed")
				require.True(t, bytes.Equal(msg, p.inflate(f.payload)), "the peer inflates it with its window")
				return len(f.payload)
			}
			first := send()
			again := send() // refers back into the first
			require.Less(t, again, first/4, "the second copy refers back into the first")

			sweeper.sweep()
			assert.NotNil(t, c.deflate.fw, "written since the last sweep: kept")
			sweeper.sweep()
			assert.Nil(t, c.deflate.fw, "idle for a sweep: given back")
			assert.Empty(t, sweeper.conns)
			assert.True(t, bytes.Equal(c.deflate.sent.tail(), (append(bytes.Clone(msg), msg...))[2*len(msg)-min(2*len(msg), tc.window):]))
			assert.Equal(t, len(c.deflate.sent.tail()), cap(c.deflate.sent.buf), "only the tail is held")

			primed := send()
			assert.NotNil(t, c.deflate.fw, "borrowed for the message, kept while writing")
			assert.Len(t, sweeper.conns, 1)
			assert.LessOrEqual(t, primed, again+2, "a primed compressor refers back as the kept one did")

			// Messages and sweeps interleaved: every message inflates.
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range 200 {
				m := jsonLike(1 + rng.IntN(3*tc.window))
				if i%3 == 0 {
					sweeper.sweep()
				}
				require.NoError(t, c.WriteMessage(BinaryMessage, m))
				_, got, compressed := p.readMessage()
				require.True(t, compressed)
				require.True(t, bytes.Equal(m, got), "message %d", i)
			}

			require.NoError(t, c.Terminate())
			<-c.Done()
			assert.Empty(t, sweeper.conns, "an ended connection is forgotten")
		})
	}
}

// TestCompressorSweeperTimer: the process-wide sweeper comes round on its
// own while a connection holds a compressor, and stops when none does.
func TestCompressorSweeperTimer(t *testing.T) {
	u := &Upgrader{Compression: CompressionContextTakeover, CompressionThreshold: -1}
	p, c, _ := connectDeflate(t, u, "permessage-deflate")
	stopped := make(chan struct{})
	sweeper := &compressorSweeper{every: 1, stopped: func() { close(stopped) }} // as soon as it can
	c.deflate.sweeper = sweeper
	require.NoError(t, c.WriteMessage(TextMessage, jsonLike(500)))
	_, _, compressed := p.readMessage()
	require.True(t, compressed)
	<-stopped
	c.msgLock.lock(c.done)
	assert.Nil(t, c.deflate.fw, "given back by the timer's sweeps")
	c.msgLock.unlock()
	require.NoError(t, c.Terminate())
}
