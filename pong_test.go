package websocket

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPongHandler: the handler gets every pong's payload in the reading
// goroutine; an error from it terminates the connection, and the read
// returns a 1006 wrapping it.
func TestPongHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		var got []string
		stop := errors.New("enough pongs")
		c.SetPongHandler(func(appData string) error {
			got = append(got, appData)
			if appData == "stop" {
				return stop
			}
			return nil
		})
		go func() {
			p.send(fin|wPong, []byte("one"))
			p.send(fin|wPong, nil)
			p.send(fin|wText, []byte("hello"))
			p.send(fin|wPong, []byte("stop"))
		}()
		_, msg, err := c.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "hello", string(msg))
		assert.Equal(t, []string{"one", ""}, got)
		_, _, err = c.ReadMessage()
		assert.ErrorIs(t, err, stop)
		assert.Equal(t, StatusAbnormalClosure, CloseStatus(err))
		ev := wantDone(t, c)
		assert.ErrorIs(t, ev.Err, stop)
		assert.Equal(t, SideLocal, ev.Initiator)
		p.wantEOF()
	})
}
