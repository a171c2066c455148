package websocket

import (
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of what only the poller does: elsewhere Serve runs a read loop.

// TestServeEndWhileParking: the connection ends after its goroutine found
// nothing to read and before it parks it, so that the end finds it served,
// not parked; the goroutine, parking, must let go for onEnd to run.
func TestServeEndWhileParking(t *testing.T) {
	_, c := connect(t, nil)
	var once sync.Once
	hook := func(cc *Conn) {
		if cc == c {
			once.Do(func() {
				_ = c.Terminate()
				<-c.Done() // the end has run, and found c served
			})
		}
	}
	serveIdle.Store(&hook)
	t.Cleanup(func() { serveIdle.Store(nil) })
	ended := make(chan CloseEvent, 2)
	require.NoError(t, c.Serve(func(MessageType, io.Reader) {}, func(ev CloseEvent) { ended <- ev }))
	assert.Equal(t, StatusAbnormalClosure, wantEnded(t, ended).Code)
}
