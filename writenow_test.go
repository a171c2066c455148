package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBoundedWritesOnASocket: with a WriteTimeout, writes that the socket
// takes at once go out without a deadline, whole and in order, plain and
// prepared; once the peer stops reading and the socket's buffers fill,
// the write that has to wait is bounded all the same.
func TestBoundedWritesOnASocket(t *testing.T) {
	p, c := connect(t, &Upgrader{WriteTimeout: 300 * time.Millisecond})
	require.NotNil(t, c.br.raw, "a TCP connection: the fast path applies")
	pm, err := NewPreparedMessage(BinaryMessage, bytes.Repeat([]byte("p"), 3000))
	require.NoError(t, err)
	for i := range 200 {
		msg := []byte(fmt.Sprintf("message %d %s", i, bytes.Repeat([]byte("x"), i*7)))
		require.NoError(t, c.WriteMessage(TextMessage, msg))
		p.wantFrame(fin|wText, string(msg))
		if i%10 == 0 {
			require.NoError(t, c.WritePreparedMessage(pm))
			p.wantFrame(fin|wBinary, string(bytes.Repeat([]byte("p"), 3000)))
		}
	}

	// The peer reads no more: writes go on until the socket's buffers
	// are full, then one waits and is cut at the timeout.
	big := make([]byte, 1000)
	var werr error
	for i := 0; i < 1_000_000 && werr == nil; i++ {
		werr = c.WriteMessage(BinaryMessage, big)
	}
	require.ErrorIs(t, werr, ErrWriteTimeout)
	assert.True(t, errors.Is(werr, os.ErrDeadlineExceeded), "%v", werr)
	ev := wantDone(t, c)
	assert.ErrorIs(t, ev.Err, ErrWriteTimeout)
}
