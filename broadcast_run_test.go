package websocket

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// preparedRun prepares the texts as messages.
func preparedRun(t *testing.T, texts ...string) []*PreparedMessage {
	t.Helper()
	pms := make([]*PreparedMessage, len(texts))
	for i, s := range texts {
		var err error
		pms[i], err = NewPreparedMessage(TextMessage, []byte(s))
		require.NoError(t, err)
	}
	return pms
}

// TestBroadcastRunOneWrite: several small messages reach a server's
// connection in one write, in order; a large one between them goes out
// on its own without overtaking what was gathered before it.
func TestBroadcastRunOneWrite(t *testing.T) {
	large := strings.Repeat("L", runCopyMax+1)
	pms := preparedRun(t, "one", "two", "three", large, "four")
	p, c := pipeConn(t, &Upgrader{})
	done := make(chan BroadcastResult, 1)
	go func() {
		res, err := Broadcast(context.Background(), []*Conn{c}, pms...)
		assert.NoError(t, err)
		done <- res
	}()

	// net.Pipe hands a read at most one write's bytes: the first read is
	// the first write, whole.
	first := make([]byte, 1024)
	n, err := p.conn.Read(first)
	require.NoError(t, err)
	var want []byte
	for _, pm := range pms[:3] {
		want = append(want, pm.plain.frame...)
	}
	assert.Equal(t, want, first[:n], "the three small messages in one write")

	for _, s := range []string{large, "four"} {
		f, err := p.readFrame()
		require.NoError(t, err)
		assert.Equal(t, byte(fin|wText), f.first)
		assert.Equal(t, s, string(f.payload))
	}
	assert.Equal(t, BroadcastResult{Delivered: 1}, <-done)
}

// TestBroadcastRunEveryKind: a run of messages reaches, whole and in
// order, a server's connection without compression, with compression
// shared (no context takeover) and with its own (context takeover), and a
// client's connection, which masks each frame; Stats counts each message.
func TestBroadcastRunEveryKind(t *testing.T) {
	texts := make([]string, 40)
	for i := range texts {
		// Some below and some above the compression threshold.
		texts[i] = fmt.Sprintf("message %d %s", i, strings.Repeat("x", i*i*20))
	}
	pms := preparedRun(t, texts...)
	var senders, readers []*Conn
	stats := &Stats{}
	for _, mode := range []CompressionMode{CompressionDisabled, CompressionNoContextTakeover, CompressionContextTakeover} {
		u := &Upgrader{Compression: mode, CompressionThreshold: 64, Stats: stats}
		client, server := dialPair(t, u, &Dialer{Compression: mode})
		senders, readers = append(senders, server), append(readers, client)
	}
	client, server := dialPair(t, nil, nil)
	senders, readers = append(senders, client), append(readers, server)

	got := make(chan error, len(readers))
	for _, r := range readers {
		go func() {
			for i, want := range texts {
				_, b, err := r.ReadMessage()
				if err == nil && string(b) != want {
					err = fmt.Errorf("message %d: got %d bytes, want %q...", i, len(b), want[:12])
				}
				if err != nil {
					got <- err
					return
				}
			}
			got <- nil
		}()
	}
	res, err := Broadcast(context.Background(), senders, pms...)
	require.NoError(t, err)
	assert.Equal(t, BroadcastResult{Delivered: len(senders)}, res)
	for range readers {
		assert.NoError(t, <-got)
	}
	traffic := stats.Snapshot().Traffic
	assert.Equal(t, uint64(3*len(texts)), traffic.MessagesOut, "messages counted by the three servers")
	var compressed uint64 // by each compressing server: the texts at or above its threshold
	for _, s := range texts {
		if len(s) >= 64 {
			compressed += uint64(len(s))
		}
	}
	assert.Equal(t, 2*compressed, traffic.DeflatedBytesOut, "what the two compressing servers compressed")
}

// TestBroadcastRunArguments: a nil message among several is refused
// before anything is written, and no messages write nothing.
func TestBroadcastRunArguments(t *testing.T) {
	p, c := pipeConn(t, &Upgrader{})
	pms := preparedRun(t, "a")
	res, err := Broadcast(context.Background(), []*Conn{c}, pms[0], nil)
	assert.ErrorIs(t, err, errNilPrepared)
	assert.Zero(t, res)
	res, err = Broadcast(context.Background(), []*Conn{c})
	assert.NoError(t, err)
	assert.Zero(t, res)

	// The connection is untouched: the next message is the first frame.
	go func() { _, _ = Broadcast(context.Background(), []*Conn{c}, pms...) }()
	f, err := p.readFrame()
	require.NoError(t, err)
	assert.Equal(t, "a", string(f.payload))
}

// TestBroadcastRunBound: one bound covers a connection's whole run; a
// peer that stops reading partway has the connection terminated when it
// passes, with the messages before counted as sent.
func TestBroadcastRunBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stats := &Stats{}
		p, c := pipeConn(t, &Upgrader{WriteTimeout: time.Second, Stats: stats})
		large := strings.Repeat("L", runCopyMax+1) // each goes in a write of its own
		pms := preparedRun(t, large, large, large)
		go func() { _, _ = p.readFrame() }() // the first, then no more
		start := time.Now()
		res, err := Broadcast(context.Background(), []*Conn{c}, pms...)
		require.NoError(t, err)
		assert.Equal(t, BroadcastResult{Terminated: 1}, res)
		assert.Equal(t, time.Second, time.Since(start))
		ev := wantDone(t, c)
		assert.ErrorIs(t, ev.Err, ErrWriteTimeout)
		assert.Equal(t, uint64(1), stats.Snapshot().Traffic.MessagesOut, "the message that went out")
	})
}
