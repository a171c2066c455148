package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	xws "golang.org/x/net/websocket"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server is the example's handler on a loopback httptest server.
type server struct {
	*httptest.Server
	ended endLog
}

func startServer(t *testing.T) *server {
	s := &server{ended: make(endLog, 4)}
	s.Server = httptest.NewServer(newHandler(slog.New(slog.NewTextHandler(s.ended, nil))))
	t.Cleanup(s.Close)
	return s
}

// endLog is the server's log output: it passes on the line each
// connection logs when it has ended, and drops the others.
type endLog chan string

func (l endLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`msg="connection ended"`)) {
		l <- string(p)
	}
	return len(p), nil
}

// wantEnd waits for a connection to end and checks how the server logged it.
func (s *server) wantEnd(t *testing.T, want string) {
	t.Helper()
	select {
	case line := <-s.ended:
		assert.Contains(t, line, want)
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not end")
	}
}

// dial opens a WebSocket from a page of the same origin, as the browser does.
func dial(t *testing.T, s *server) *xws.Conn {
	cfg, err := xws.NewConfig("ws"+strings.TrimPrefix(s.URL, "http")+"/ws", s.URL)
	require.NoError(t, err)
	ws, err := xws.DialConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// message is a received message and its frame type.
type message struct {
	typ  byte
	data string
}

// receive reads the next message, keeping its type.
var receive = xws.Codec{Unmarshal: func(data []byte, typ byte, v any) error {
	*v.(*message) = message{typ: typ, data: string(data)}
	return nil
}}.Receive

func TestPage(t *testing.T) {
	s := startServer(t)
	resp, err := http.Get(s.URL + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(body), "<title>")
}

func TestEcho(t *testing.T) {
	s := startServer(t)
	ws := dial(t, s)

	require.NoError(t, xws.Message.Send(ws, "hello"))
	var got message
	require.NoError(t, receive(ws, &got))
	assert.Equal(t, message{xws.TextFrame, "hello"}, got)

	require.NoError(t, xws.Message.Send(ws, []byte{0, 1, 0xff}))
	require.NoError(t, receive(ws, &got))
	assert.Equal(t, message{xws.BinaryFrame, "\x00\x01\xff"}, got)

	// The client's Close sends 1000; the server answers and ends cleanly.
	require.NoError(t, ws.Close())
	s.wantEnd(t, `code="1000 (normal closure)" reason="" wasClean=true initiator=peer`)
}

func TestServerClose(t *testing.T) {
	s := startServer(t)
	ws := dial(t, s)

	require.NoError(t, xws.Message.Send(ws, "/close 4001 bye"))
	var got message
	// x/net/websocket reports the server's close frame as io.EOF.
	require.ErrorIs(t, receive(ws, &got), io.EOF)
	// Its Close answers with 1000, which completes the server's handshake.
	require.NoError(t, ws.Close())
	s.wantEnd(t, `code="1000 (normal closure)" reason="" wasClean=true initiator=local`)
}

func TestServerCloseInvalid(t *testing.T) {
	s := startServer(t)
	ws := dial(t, s)

	// 1005 may never be sent: Close refuses it and the connection stays open.
	require.NoError(t, xws.Message.Send(ws, "/close 1005 bye"))
	var got message
	require.NoError(t, receive(ws, &got))
	assert.Equal(t, message{xws.TextFrame, "close refused: websocket: close code 1005 (no status received) may not be sent"}, got)

	require.NoError(t, xws.Message.Send(ws, "still open"))
	require.NoError(t, receive(ws, &got))
	assert.Equal(t, message{xws.TextFrame, "still open"}, got)

	require.NoError(t, ws.Close())
	s.wantEnd(t, `code="1000 (normal closure)" reason="" wasClean=true initiator=peer`)
}

func TestServerTerminate(t *testing.T) {
	s := startServer(t)
	ws := dial(t, s)

	require.NoError(t, xws.Message.Send(ws, "/terminate"))
	var got message
	require.Error(t, receive(ws, &got))
	s.wantEnd(t, `code="1006 (abnormal closure)" reason="" wasClean=false initiator=local err="websocket: connection terminated"`)
}

// endedCount reads /debug/vars and returns how many connections ended
// the way key names.
func endedCount(t *testing.T, s *server, key string) float64 {
	t.Helper()
	resp, err := http.Get(s.URL + "/debug/vars")
	require.NoError(t, err)
	defer resp.Body.Close()
	var vars struct {
		Websocket struct {
			Opened uint64
			Ended  map[string]float64
		} `json:"websocket"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&vars))
	require.Positive(t, vars.Websocket.Opened, "expvar publishes the Stats snapshot")
	return vars.Websocket.Ended[key]
}

// TestDebugVars: /debug/vars shows the connection statistics, and a
// connection the client closes is counted there once it has ended.
func TestDebugVars(t *testing.T) {
	s := startServer(t)
	const key = "code=1000 clean=true initiator=peer cause=peer_close"
	ws := dial(t, s)
	before := endedCount(t, s, key)
	require.NoError(t, ws.Close())
	s.wantEnd(t, `code="1000 (normal closure)" reason="" wasClean=true initiator=peer`)
	assert.Equal(t, before+1, endedCount(t, s, key))
}
