package websocket

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmokeEchoAndPeerClose(t *testing.T) {
	p, c := connect(t, nil)
	p.send(fin|wText, []byte("hello"))
	typ, msg, err := c.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, TextMessage, typ)
	require.Equal(t, "hello", string(msg))
	require.NoError(t, c.WriteMessage(typ, msg))
	p.wantFrame(fin|wText, "hello")
	p.sendClose(StatusGoingAway, "bye")
	_, _, err = c.ReadMessage()
	require.Equal(t, StatusGoingAway, CloseStatus(err))
	p.wantClose(StatusGoingAway)
	p.wantEOF()
	ev := wantDone(t, c)
	require.True(t, ev.WasClean, "%+v", ev)
}

func TestSmokeServerClose(t *testing.T) {
	p, c := connect(t, nil)
	done := make(chan error, 1)
	go func() { done <- c.Close(4001, "bye") }()
	require.Equal(t, "bye", p.wantClose(4001))
	p.sendClose(4001, "")
	p.wantEOF()
	require.NoError(t, <-done)
}
