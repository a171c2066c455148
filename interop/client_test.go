package interop

import (
	"encoding/base64"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Scenarios C1 to C5: our client against the peer servers (peerserver_test.go).

// echoSizes are the payload lengths around the frame header's length
// encodings (7 bits, 16 bits, 64 bits), and 1 MiB.
var echoSizes = []int{0, 1, 125, 126, 65535, 65536, 1 << 20}

// sizedPayload is n bytes of a message of type typ: UTF-8 text mixing
// 1- to 4-byte characters, or binary of every byte value.
func sizedPayload(typ websocket.MessageType, n int) []byte {
	if typ == websocket.TextMessage {
		return jsonText(n)
	}
	return mibBinary()[:n]
}

// dialRoundTrip has our client send a message: the peer server reports it
// with its type and exact bytes, and our reader gets the same back.
func dialRoundTrip(t *testing.T, ps *peerServer, dc *dialed, name string, typ websocket.MessageType, data []byte) {
	t.Helper()
	require.NoError(t, dc.WriteMessage(typ, data), "%s: WriteMessage", name)

	ev := ps.next(t)
	require.Equal(t, "message", ev.Event, "%s: the server's event: %v", name, ev)
	wantType, _ := wireData(typ, data)
	assert.Equal(t, wantType, ev.Type, "%s: the type the server got", name)
	got := []byte(ev.Data)
	if ev.Type == "binary" {
		var err error
		got, err = base64.StdEncoding.DecodeString(ev.Data)
		require.NoError(t, err)
	}
	requireSameBytes(t, data, got, name+": what the server got")

	m := dc.nextMessage(t)
	assert.Equal(t, typ, m.typ, "%s: the echo's type", name)
	requireSameBytes(t, data, m.data, name+": the echo")
}

// Scenario C1: messages of every header length, text and binary, come
// back intact; then our Close ends it cleanly, the server closing TCP.
// The connection is a bare TCP connection, so our reads go through the
// runtime poller as in production.
func TestDialEcho(t *testing.T) {
	forEachServer(t, func(t *testing.T, sk serverKind) {
		ps := startServer(t, sk)
		dc := dial(t, ps, dialerFor(), false)
		assert.Empty(t, dc.resp.Header.Values("Sec-WebSocket-Extensions"), "no extension offered, none answered")
		assert.Equal(t, "", dc.open.Extensions, "the server answered no extension")
		for _, typ := range []websocket.MessageType{websocket.TextMessage, websocket.BinaryMessage} {
			for _, n := range echoSizes {
				dialRoundTrip(t, ps, dc, fmt.Sprintf("%v of %d bytes", typ, n), typ, sizedPayload(typ, n))
			}
		}
		ourCloseEnds(t, ps, dc, websocket.StatusNormalClosure, "done")
	})
}

// ourCloseEnds has our client call Close(code, reason) and checks both
// ends: Close returns nil promptly, far inside the close timeout (a server
// that did not close TCP would hold it there); our CloseEvent has the
// server's echo of code and reason, clean, started by us; our reader gets
// the echo as a *CloseError; the server reports the same code and reason
// and a clean close.
func ourCloseEnds(t *testing.T, ps *peerServer, dc *dialed, code websocket.StatusCode, reason string) {
	t.Helper()
	start := time.Now()
	err := dc.Close(code, reason)
	took := time.Since(start)
	t.Logf("%s: Close(%d, %q) returned %v after %v (CloseTimeout %v)", ps.name, code, reason, err, took, closeTimeout)
	require.NoError(t, err)
	assert.Less(t, took, promptly, "Close returns once the server answered and closed TCP")

	assert.Equal(t, websocket.CloseEvent{
		Code:      code,
		Reason:    reason,
		WasClean:  true,
		Initiator: websocket.SideLocal,
	}, dc.waitDone(t, promptly), "our CloseEvent")
	readErr := dc.waitReadErr(t, promptly)
	var ce *websocket.CloseError
	require.ErrorAs(t, readErr, &ce, "our reader's error")
	assert.Equal(t, code, ce.Code)
	assert.Equal(t, reason, ce.Reason)

	ev := expectServerClose(t, ps)
	assert.Equal(t, int(code), ev.Code, "the code the server got")
	assert.Equal(t, reason, ev.Reason, "the reason the server got")
	require.NotNil(t, ev.WasClean)
	assert.True(t, *ev.WasClean, "the server's close is clean")
}

// expectServerClose returns the peer server's close event, skipping the
// messages it echoed meanwhile; an error event fails the test.
func expectServerClose(t *testing.T, ps *peerServer) event {
	t.Helper()
	for {
		ev := ps.next(t)
		switch ev.Event {
		case "message":
			continue
		case "close":
			t.Logf("%s: close event %v", ps.name, ev)
			return ev
		}
		t.Fatalf("%s: want the close event, got %v", ps.name, ev)
	}
}

// Scenario C2: our client closes with a code and a reason after one last
// message. Besides ourCloseEnds, the TCP connection is watched: the
// server's FIN reached our reads before we closed the socket (RFC 6455
// section 7.1.1: the server closes TCP first).
func TestDialClientClose(t *testing.T) {
	cases := []struct {
		name   string
		code   websocket.StatusCode
		reason string
	}{
		{"1000 without reason", websocket.StatusNormalClosure, ""},
		{"4000 with reason", 4000, "client bye ✓"},
		{"3001 with reason", 3001, "registered"},
	}
	forEachServer(t, func(t *testing.T, sk serverKind) {
		ps := startServer(t, sk)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				dc := dial(t, ps, dialerFor(), true)
				require.NoError(t, dc.WriteMessage(websocket.TextMessage, []byte("before close")))
				ev := ps.expect(t, "message")
				assert.Equal(t, "before close", ev.Data)
				ourCloseEnds(t, ps, dc, tc.code, tc.reason)
				assert.True(t, dc.tcp.serverClosedFirst(), "the server closed TCP before we did")
			})
		}
	})
}

// Scenario C3: the server sends a message, then closes with 4001 "bye".
// Our reader gets the message, then a *CloseError with that code and
// reason; our CloseEvent is clean and started by the peer; the server
// reports our echo of its code and reason, and a clean close; and its FIN
// reached us before we closed the socket.
func TestDialServerClose(t *testing.T) {
	forEachServer(t, func(t *testing.T, sk serverKind) {
		ps := startServer(t, sk)
		dc := dial(t, ps, dialerFor(), true)
		ps.send(t, command{Op: "send", Type: "text", Data: "last words"})
		start := time.Now()
		ps.send(t, command{Op: "close", Code: 4001, Reason: "bye"})

		assert.Equal(t, message{websocket.TextMessage, []byte("last words")}, dc.nextMessage(t))
		readErr := dc.waitReadErr(t, promptly)
		var ce *websocket.CloseError
		require.ErrorAs(t, readErr, &ce, "our reader's error")
		assert.Equal(t, websocket.StatusCode(4001), ce.Code)
		assert.Equal(t, "bye", ce.Reason)
		cev := dc.waitDone(t, promptly)
		t.Logf("%s: our connection ended %v after the close command", sk.name, time.Since(start))
		assert.Equal(t, websocket.CloseEvent{
			Code:      4001,
			Reason:    "bye",
			WasClean:  true,
			Initiator: websocket.SidePeer,
		}, cev, "our CloseEvent")
		assert.True(t, dc.tcp.serverClosedFirst(), "the server closed TCP before we did")

		ev := expectServerClose(t, ps)
		assert.Equal(t, 4001, ev.Code, "the server gets our echo of its code")
		assert.Equal(t, "bye", ev.Reason, "and of its reason")
		require.NotNil(t, ev.WasClean)
		assert.True(t, *ev.WasClean, "the server's close is clean")

		// A Close after the end sends nothing and says so.
		assert.ErrorIs(t, dc.Close(websocket.StatusNormalClosure, ""), net.ErrClosed)
	})
}

// Scenario C4: our client terminates: the server sees 1006, not clean,
// promptly; our CloseEvent is 1006, not clean, ErrTerminated, ours.
func TestDialTerminate(t *testing.T) {
	forEachServer(t, func(t *testing.T, sk serverKind) {
		ps := startServer(t, sk)
		dc := dial(t, ps, dialerFor(), false)
		dialRoundTrip(t, ps, dc, "before terminate", websocket.TextMessage, []byte("hello"))
		start := time.Now()
		require.NoError(t, dc.Terminate())

		ev := expectServerClose(t, ps)
		assert.Less(t, ev.at.Sub(start), promptly, "the server sees the end promptly")
		assert.Equal(t, 1006, ev.Code, "the server's close code")
		assert.Equal(t, "", ev.Reason)
		require.NotNil(t, ev.WasClean)
		assert.False(t, *ev.WasClean, "the server's close is not clean")

		cev := dc.waitDone(t, promptly)
		assert.Equal(t, websocket.StatusAbnormalClosure, cev.Code)
		assert.False(t, cev.WasClean)
		assert.Equal(t, websocket.SideLocal, cev.Initiator)
		assert.ErrorIs(t, cev.Err, websocket.ErrTerminated)
		readErr := dc.waitReadErr(t, promptly)
		assert.Equal(t, websocket.StatusAbnormalClosure, websocket.CloseStatus(readErr), "our reader's error: %v", readErr)
		assert.ErrorIs(t, readErr, websocket.ErrTerminated)
	})
}

// Scenario C5: the server drops TCP (ws.terminate(), websockets'
// transport.abort()): our reader gets a *CloseError 1006 promptly; our
// CloseEvent is 1006, not clean, started by the peer, with the I/O error.
func TestDialServerTerminate(t *testing.T) {
	forEachServer(t, func(t *testing.T, sk serverKind) {
		ps := startServer(t, sk)
		dc := dial(t, ps, dialerFor(), false)
		dialRoundTrip(t, ps, dc, "before terminate", websocket.BinaryMessage, []byte{1, 2, 3})
		start := time.Now()
		ps.send(t, command{Op: "terminate"})

		readErr := dc.waitReadErr(t, promptly)
		t.Logf("%s: our reader got %v after %v", sk.name, readErr, time.Since(start))
		var ce *websocket.CloseError
		require.ErrorAs(t, readErr, &ce)
		assert.Equal(t, websocket.StatusAbnormalClosure, ce.Code)
		cev := dc.waitDone(t, promptly)
		assert.Equal(t, websocket.StatusAbnormalClosure, cev.Code)
		assert.Equal(t, "", cev.Reason)
		assert.False(t, cev.WasClean)
		assert.Equal(t, websocket.SidePeer, cev.Initiator)
		assert.Error(t, cev.Err, "the end's cause")

		ev := expectServerClose(t, ps)
		assert.Equal(t, 1006, ev.Code, "the server's own close code")
	})
}
