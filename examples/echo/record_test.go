package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xws "golang.org/x/net/websocket"
)

// dialID opens a WebSocket to /ws with the given query, as the page does.
func dialID(t *testing.T, s *server, query string) *xws.Conn {
	t.Helper()
	cfg, err := xws.NewConfig("ws"+strings.TrimPrefix(s.URL, "http")+"/ws?"+query, s.URL)
	require.NoError(t, err)
	ws, err := xws.DialConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// getRecord fetches /record?id=id and decodes it.
func getRecord(t *testing.T, s *server, id string) recordJSON {
	t.Helper()
	resp, err := http.Get(s.URL + "/record?id=" + id)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var rec recordJSON
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rec))
	return rec
}

// kinds lists the kinds of a record's facts, as /record orders them.
func kinds(rec recordJSON) []string {
	var out []string
	for _, f := range rec.Facts {
		out = append(out, f.Kind)
	}
	return out
}

func factOf(t *testing.T, rec recordJSON, kind string) factJSON {
	t.Helper()
	for _, f := range rec.Facts {
		if f.Kind == kind {
			return f
		}
	}
	t.Fatalf("no %q fact in %+v", kind, rec.Facts)
	return factJSON{}
}

func TestRecordServerClose(t *testing.T) {
	s := startServer(t)
	ws := dialID(t, s, "id=close-1")
	require.NoError(t, xws.Message.Send(ws, "/close 4001 bye"))
	var got message
	require.ErrorIs(t, receive(ws, &got), io.EOF)
	require.NoError(t, ws.Close()) // answers with 1000
	s.wantEnd(t, `id=close-1`)

	rec := getRecord(t, s, "close-1")
	assert.Equal(t, "close-1", rec.ID)
	assert.True(t, rec.Ended)
	assert.Equal(t, "close-call", rec.Zero)
	assert.ElementsMatch(t, []string{"close-call", "read-end", "done", "close-return"}, kinds(rec))
	assert.Equal(t, "close-call", rec.Facts[0].Kind, "Close is called first")
	assert.Zero(t, rec.Facts[0].AtMs)
	assert.Equal(t, `Close(4001, "bye") called`, rec.Facts[0].Text)
	for _, f := range rec.Facts {
		assert.True(t, f.Closing, f.Kind)
		assert.GreaterOrEqual(t, f.AtMs, 0.0, f.Kind)
	}
	end := factOf(t, rec, "read-end")
	assert.Equal(t, 1000, end.Code)
	assert.Equal(t, `peer's close frame: 1000 (normal closure) ""`, end.Text)
	assert.Equal(t, "Close returned nil: the handshake completed", factOf(t, rec, "close-return").Text)
	assert.Equal(t, &eventJSON{Code: 1000, CodeText: "1000 (normal closure)", WasClean: true, Initiator: "local"}, rec.Event)
}

func TestRecordTerminate(t *testing.T) {
	s := startServer(t)
	ws := dialID(t, s, "id=term")
	require.NoError(t, xws.Message.Send(ws, "/terminate"))
	var got message
	require.Error(t, receive(ws, &got))
	s.wantEnd(t, `id=term`)

	rec := getRecord(t, s, "term")
	assert.Equal(t, "terminate", rec.Zero)
	assert.Equal(t, "terminate", rec.Facts[0].Kind)
	end := factOf(t, rec, "read-end")
	assert.Equal(t, 1006, end.Code)
	assert.Equal(t, "ErrTerminated", end.Cause)
	assert.Equal(t, "ErrTerminated", rec.Event.Cause)
	assert.False(t, rec.Event.WasClean)
	assert.Equal(t, "local", rec.Event.Initiator)
}

func TestRecordPeerClose(t *testing.T) {
	s := startServer(t)
	ws := dialID(t, s, "id=peer")
	require.NoError(t, ws.Close())
	s.wantEnd(t, `id=peer`)

	rec := getRecord(t, s, "peer")
	// The library answers the peer's close frame and closes TCP inside
	// ReadMessage, before it returns: Done's watcher and the read loop
	// then race to note their facts.
	assert.Contains(t, []string{"read-end", "done"}, rec.Zero)
	assert.ElementsMatch(t, []string{"read-end", "done"}, kinds(rec))
	assert.Equal(t, `peer's close frame: 1000 (normal closure) ""`, factOf(t, rec, "read-end").Text)
	assert.Equal(t, "peer", rec.Event.Initiator)
	assert.True(t, rec.Event.WasClean)
}

// TestRecordTooBig: a message over the read limit fails the connection
// with 1009, and the record says the read loop saw ErrMessageTooBig.
func TestRecordTooBig(t *testing.T) {
	s := startServer(t)
	ws := dialID(t, s, "id=big")
	big := strings.Repeat("x", 1<<20+1)
	require.NoError(t, xws.Message.Send(ws, big))
	var got message
	require.ErrorIs(t, receive(ws, &got), io.EOF, "the server's close frame")
	require.NoError(t, ws.Close())
	s.wantEnd(t, `id=big`)

	rec := getRecord(t, s, "big")
	end := factOf(t, rec, "read-end")
	assert.Equal(t, "ErrMessageTooBig", end.Cause)
	assert.Equal(t, "local", rec.Event.Initiator)
	assert.Equal(t, "ErrMessageTooBig", rec.Event.Cause)
	assert.False(t, rec.Event.WasClean, "a failed connection is not clean")
}

// TestRecordCloseTimeout: with close-timeout=short, a peer that does not
// read leaves Close to time out after shortCloseTimeout.
func TestRecordCloseTimeout(t *testing.T) {
	s := startServer(t)
	ws := dialID(t, s, "close-timeout=short&id=slow")
	require.NoError(t, xws.Message.Send(ws, "/flood 1000"))
	require.NoError(t, xws.Message.Send(ws, "/close 4000 slow"))
	// The test reads nothing: the close frame is never answered.
	s.wantEnd(t, `id=slow`)

	rec := getRecord(t, s, "slow")
	assert.Equal(t, "flood", rec.Facts[0].Kind)
	assert.Equal(t, "a 1000-byte binary message written", rec.Facts[0].Text)
	assert.False(t, rec.Facts[0].Closing)
	assert.Less(t, rec.Facts[0].AtMs, 0.0, "before the close")
	ret := factOf(t, rec, "close-return")
	assert.Equal(t, "ErrCloseTimeout", ret.Cause)
	assert.GreaterOrEqual(t, ret.AtMs, float64(shortCloseTimeout.Milliseconds()))
	assert.Equal(t, "ErrCloseTimeout", rec.Event.Cause)
	assert.Equal(t, 1006, rec.Event.Code)
	assert.False(t, rec.Event.WasClean)
}

// TestRecordRefusedClose: a Close that refuses its code is not part of
// the end, which stays the peer's.
func TestRecordRefusedClose(t *testing.T) {
	s := startServer(t)
	ws := dialID(t, s, "id=refused")
	require.NoError(t, xws.Message.Send(ws, "/close 1005 bye"))
	var got message
	require.NoError(t, receive(ws, &got))
	require.NoError(t, ws.Close())
	s.wantEnd(t, `id=refused`)

	rec := getRecord(t, s, "refused")
	assert.Contains(t, []string{"read-end", "done"}, rec.Zero)
	assert.False(t, factOf(t, rec, "close-call").Closing)
	assert.False(t, factOf(t, rec, "close-return").Closing)
	assert.Equal(t, "peer", rec.Event.Initiator)
}

func TestRecordRequests(t *testing.T) {
	s := startServer(t)
	get := func(path string) int {
		t.Helper()
		resp, err := http.Get(s.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusNotFound, get("/record?id=nobody"))
	assert.Equal(t, http.StatusBadRequest, get("/ws?id=no%20spaces"))
	assert.Equal(t, http.StatusBadRequest, get("/ws?id="+strings.Repeat("a", 65)))

	dialID(t, s, "id=twice")
	cfg, err := xws.NewConfig("ws"+strings.TrimPrefix(s.URL, "http")+"/ws?id=twice", s.URL)
	require.NoError(t, err)
	_, err = xws.DialConfig(cfg)
	require.ErrorContains(t, err, "bad status", "an id in use is refused")
}

// TestRecordWaitBounded: /record answers within recordWait, with ended
// false, while the connection is still open.
func TestRecordWaitBounded(t *testing.T) {
	defer func(d time.Duration) { recordWait = d }(recordWait)
	recordWait = 20 * time.Millisecond
	s := startServer(t)
	ws := dialID(t, s, "id=open")
	rec := getRecord(t, s, "open")
	assert.False(t, rec.Ended)
	assert.Nil(t, rec.Event)
	assert.Equal(t, "connected", rec.Zero)
	require.NoError(t, ws.Close())
	s.wantEnd(t, `id=open`)
}

func TestRecordsBounded(t *testing.T) {
	rs := newRecords()
	for i := range maxRecords + 1 {
		_, err := rs.start(fmt.Sprint("c", i))
		require.NoError(t, err)
	}
	_, ok := rs.get("c0")
	assert.False(t, ok, "the oldest record is forgotten")
	_, ok = rs.get(fmt.Sprint("c", maxRecords))
	assert.True(t, ok)
	assert.Len(t, rs.byID, maxRecords)
	assert.Len(t, rs.order, maxRecords)
}

func TestRecordFactsBounded(t *testing.T) {
	r := newRecord("x")
	for range 3 * maxFacts {
		r.add(fact{kind: "flood"})
	}
	assert.Len(t, r.facts, maxFacts)
	assert.Equal(t, maxFacts, r.add(fact{kind: "done", closing: true}), "closing facts still fit")
}

func TestFloodUsage(t *testing.T) {
	s := startServer(t)
	ws := dialID(t, s, "id=flood")
	for _, arg := range []string{"", "0", "x", fmt.Sprint(maxFlood + 1)} {
		require.NoError(t, xws.Message.Send(ws, "/flood "+arg))
		var got message
		require.NoError(t, receive(ws, &got))
		assert.Equal(t, fmt.Sprintf("usage: /flood <bytes>, 1 to %d", maxFlood), got.data)
	}
	require.NoError(t, xws.Message.Send(ws, "/flood 3"))
	var got message
	require.NoError(t, receive(ws, &got))
	assert.EqualValues(t, xws.BinaryFrame, got.typ)
	assert.Len(t, got.data, 3)
	require.NoError(t, ws.Close())
	s.wantEnd(t, `id=flood`)
}
