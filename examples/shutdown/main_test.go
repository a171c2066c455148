package main

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	xws "golang.org/x/net/websocket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDrain connects clients, drains the group and checks that each client
// saw its close frame and that a late upgrade is refused.
func TestDrain(t *testing.T) {
	group := &websocket.Group{}
	srv := httptest.NewServer(newHandler(&websocket.Upgrader{Group: group}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	var clients []*xws.Conn
	for range 5 {
		ws, err := xws.Dial(url, "", srv.URL)
		require.NoError(t, err)
		defer ws.Close()
		require.NoError(t, xws.Message.Send(ws, "hi"))
		var echo string
		require.NoError(t, xws.Message.Receive(ws, &echo)) // the server has the Conn
		clients = append(clients, ws)
	}
	// Each client answers the close frame the way x/net does: it sees EOF
	// and closes, which sends its own close frame.
	answered := make(chan error, len(clients))
	for _, ws := range clients {
		go func() {
			var msg string
			err := xws.Message.Receive(ws, &msg)
			if err == io.EOF {
				err = ws.Close()
			}
			answered <- err
		}()
	}
	res, err := group.Shutdown(context.Background(), websocket.StatusGoingAway, "bye")
	require.NoError(t, err)
	assert.Equal(t, websocket.ShutdownResult{Clean: 5}, res)
	for range clients {
		assert.NoError(t, <-answered)
	}

	_, err = xws.Dial(url, "", srv.URL)
	require.Error(t, err, "no upgrade during the drain")
	assert.Contains(t, err.Error(), "bad status")
}
