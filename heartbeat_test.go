package websocket

import (
	"errors"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHeartbeatTerminatesSilentPeer: a peer that stops answering pings is
// terminated once the pong timeout passes, and the end says why.
func TestHeartbeatTerminatesSilentPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, &Upgrader{PingInterval: 10 * time.Second, PongTimeout: 3 * time.Second})
		msgs := readAll(c)
		start := time.Now()
		p.wantFrame(fin|wPing, "")
		assert.Equal(t, 10*time.Second, time.Since(start))
		p.wantEOF() // no pong: dropped without a close frame
		assert.Equal(t, 13*time.Second, time.Since(start))
		m := <-msgs
		assert.Equal(t, StatusAbnormalClosure, CloseStatus(m.err))
		assert.ErrorIs(t, m.err, ErrPongTimeout)
		ev := c.CloseEvent()
		assert.Equal(t, CloseEvent{Code: StatusAbnormalClosure, Initiator: SideLocal, Err: ErrPongTimeout}, ev)
	})
}

// TestHeartbeatKeepsLivePeer: a peer that answers is pinged every interval
// and kept, however late in the timeout its pong comes.
func TestHeartbeatKeepsLivePeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, &Upgrader{PingInterval: 10 * time.Second, PongTimeout: 3 * time.Second})
		readAll(c)
		start := time.Now()
		for i := 1; i <= 5; i++ {
			p.wantFrame(fin|wPing, "")
			assert.Equal(t, time.Duration(i)*10*time.Second, time.Since(start), "ping %d", i)
			if i%2 == 0 {
				time.Sleep(2 * time.Second) // a slow pong, inside the timeout
			}
			p.send(fin|wPong, nil)
		}
		synctest.Wait()
		assert.False(t, c.ended())
		c.SetHeartbeat(0, 0) // off: no more pings
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.False(t, c.ended())
		require.NoError(t, c.Terminate())
	})
}

// TestHeartbeatPongTimeoutPastInterval: with gorilla's pingPeriod of 54 s
// and pongWait of 60 s, pings go on every 54 s while the first unanswered
// one waits its 60 s for a pong; any pong resets the wait.
func TestHeartbeatPongTimeoutPastInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, &Upgrader{PingInterval: 54 * time.Second, PongTimeout: 60 * time.Second})
		msgs := readAll(c)
		start := time.Now()
		p.wantFrame(fin|wPing, "")
		assert.Equal(t, 54*time.Second, time.Since(start))
		p.wantFrame(fin|wPing, "") // the first still unanswered
		assert.Equal(t, 108*time.Second, time.Since(start))
		p.send(fin|wPong, nil) // answers: the wait starts again with the next ping
		p.wantFrame(fin|wPing, "")
		assert.Equal(t, 162*time.Second, time.Since(start))
		p.wantFrame(fin|wPing, "")
		assert.Equal(t, 216*time.Second, time.Since(start))
		p.wantEOF() // neither answered: 60 s after the first of them
		assert.Equal(t, 222*time.Second, time.Since(start))
		m := <-msgs
		assert.ErrorIs(t, m.err, ErrPongTimeout)
	})
}

// TestWriteTimeout: a peer that stops reading cannot block a writer past
// the WriteTimeout; the connection is terminated with a clear error.
func TestWriteTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := pipeConn(t, &Upgrader{WriteTimeout: 2 * time.Second})
		start := time.Now()
		err := c.WriteMessage(BinaryMessage, make([]byte, 1<<16)) // nobody reads the pipe
		assert.Equal(t, 2*time.Second, time.Since(start))
		require.ErrorIs(t, err, ErrWriteTimeout)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		<-c.Done()
		ev := c.CloseEvent()
		assert.Equal(t, StatusAbnormalClosure, ev.Code)
		assert.True(t, errors.Is(ev.Err, ErrWriteTimeout), "%v", ev.Err)
		assert.ErrorIs(t, c.WriteMessage(TextMessage, nil), ErrWriteTimeout, "sticky")
	})
}
