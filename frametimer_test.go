package websocket

import (
	"bytes"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFrameTimeoutDefault: the zero Upgrader bounds a frame by 60 s, a
// negative FrameTimeout by nothing.
func TestFrameTimeoutDefault(t *testing.T) {
	assert.Equal(t, defaultFrameTimeout, (&Upgrader{}).config("").frameTimeout)
	assert.Equal(t, 3*time.Second, (&Upgrader{FrameTimeout: 3 * time.Second}).config("").frameTimeout)
	assert.Zero(t, (&Upgrader{FrameTimeout: -1}).config("").frameTimeout)
}

// TestFrameTimeoutBudget plays peers on the bubble's clock: a frame's
// waits for the peer may add up to the frame timeout, then the connection
// is terminated; an idle peer, and an application slow to read, spend
// nothing of it.
func TestFrameTimeoutBudget(t *testing.T) {
	const timeout = time.Second
	payload := bytes.Repeat([]byte("x"), 8<<10)
	tests := []struct {
		name string
		// peer sends with send, framing with p; its sleeps are what the
		// reader waits through.
		peer    func(p *peer, send func([]byte))
		slowApp bool // the application pauses after its first read
		cut     bool // the connection is terminated
		waited  time.Duration
	}{
		{name: "one byte of a header", cut: true, waited: timeout, peer: func(p *peer, send func([]byte)) {
			send(p.frame(fin|wBinary, payload)[:1])
		}},
		{name: "a header and half the payload", cut: true, waited: timeout, peer: func(p *peer, send func([]byte)) {
			send(p.frame(fin|wBinary, payload)[:4<<10])
		}},
		{name: "pauses that add up", cut: true, waited: timeout, peer: func(p *peer, send func([]byte)) {
			f := p.frame(fin|wBinary, payload)
			for i := range 4 {
				send(f[i*2<<10 : (i+1)*2<<10])
				time.Sleep(400 * time.Millisecond)
			}
			send(f[8<<10:])
		}},
		{name: "pauses within the budget", waited: 800 * time.Millisecond, peer: func(p *peer, send func([]byte)) {
			f := p.frame(fin|wBinary, payload)
			send(f[:3<<10])
			time.Sleep(400 * time.Millisecond)
			send(f[3<<10 : 6<<10])
			time.Sleep(400 * time.Millisecond)
			send(f[6<<10:])
		}},
		{name: "idle far longer than the timeout", waited: 5 * timeout, peer: func(p *peer, send func([]byte)) {
			time.Sleep(5 * timeout)
			send(p.frame(fin|wBinary, payload))
		}},
		{name: "each frame has its own budget", waited: 1600 * time.Millisecond, peer: func(p *peer, send func([]byte)) {
			for _, op := range []byte{wBinary, fin | wCont} {
				f := p.frame(op, payload[:4<<10])
				send(f[:100])
				time.Sleep(800 * time.Millisecond)
				send(f[100:])
			}
		}},
		{name: "a slow application", slowApp: true, waited: 5 * timeout, peer: func(p *peer, send func([]byte)) {
			send(p.frame(fin|wBinary, payload))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, c := pipeConn(t, &Upgrader{FrameTimeout: timeout})
				peerDone := make(chan struct{})
				go func() {
					defer close(peerDone)
					// A write fails once the connection is cut.
					tt.peer(p, func(b []byte) { _, _ = p.conn.Write(b) })
				}()
				defer func() {
					p.conn.Close()
					<-peerDone
				}()
				start := time.Now()
				var got []byte
				_, r, err := c.NextReader()
				if err == nil {
					var first [1 << 10]byte
					var n int
					n, err = io.ReadFull(r, first[:])
					got = append(got, first[:n]...)
					if tt.slowApp {
						time.Sleep(5 * timeout)
					}
					if err == nil {
						var rest []byte
						rest, err = io.ReadAll(r)
						got = append(got, rest...)
					}
				}
				assert.Equal(t, tt.waited, time.Since(start), "time until the read ended")
				if !tt.cut {
					require.NoError(t, err)
					assert.Equal(t, len(payload), len(got))
					return
				}
				require.ErrorIs(t, err, ErrFrameTimeout)
				assert.Equal(t, StatusAbnormalClosure, CloseStatus(err))
				ev := wantDone(t, c)
				assert.Equal(t, StatusAbnormalClosure, ev.Code)
				assert.Equal(t, SideLocal, ev.Initiator)
				assert.ErrorIs(t, ev.Err, ErrFrameTimeout)
			})
		})
	}
}

// TestFrameTimeoutOnSocket: on a real socket, where only a read that finds
// nothing waits, a peer that sends one byte of a frame and stops is cut
// off, under a read loop and under Serve; a served connection's goroutine
// is gone with it.
func TestFrameTimeoutOnSocket(t *testing.T) {
	const timeout = 50 * time.Millisecond
	t.Run("read loop", func(t *testing.T) {
		p, c := connect(t, &Upgrader{FrameTimeout: timeout})
		msgs := readAll(c)
		p.send(fin|wText, []byte("whole"))
		assert.Equal(t, message{TextMessage, "whole", nil}, <-msgs)
		p.sendRaw(p.frame(fin|wText, []byte("cut"))[:1])
		p.wantEOF()
		m := <-msgs
		require.ErrorIs(t, m.err, ErrFrameTimeout)
		assert.ErrorIs(t, wantDone(t, c).Err, ErrFrameTimeout)
	})
	t.Run("Serve", func(t *testing.T) {
		p, c := connect(t, &Upgrader{FrameTimeout: timeout})
		parked, ended := served(t, c)
		wantParked(t, parked)
		p.send(fin|wText, []byte("whole"))
		p.wantFrame(fin|wText, "whole")
		wantParked(t, parked)
		p.sendRaw(p.frame(fin|wText, []byte("cut"))[:3])
		p.wantEOF()
		select {
		case ev := <-ended:
			assert.ErrorIs(t, ev.Err, ErrFrameTimeout)
			assert.Equal(t, StatusAbnormalClosure, ev.Code)
		case <-time.After(wireTimeout):
			t.Fatal("onEnd did not run")
		}
	})
}
