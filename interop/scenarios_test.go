package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scenarioUpgrader is the Upgrader of most scenarios: the defaults, with
// the close timeout spelled out so that the tests can bound waits below it.
func scenarioUpgrader() websocket.Upgrader {
	return websocket.Upgrader{CloseTimeout: closeTimeout}
}

// connect starts a client of kind ck against a new scenario server, and
// returns both ends of the open connection.
func connect(t *testing.T, ck clientKind, u websocket.Upgrader) (*client, *serverConn) {
	t.Helper()
	c, sc, _ := connectWith(t, ck, u, command{})
	return c, sc
}

// connectWith is connect with more to the client's open command than the
// URL, and returns the client's open event too.
func connectWith(t *testing.T, ck clientKind, u websocket.Upgrader, open command) (*client, *serverConn, event) {
	t.Helper()
	s := newScenarioServer(t, u)
	c := ck.start(t, s.URL)
	open.Op, open.URL = "open", s.wsURL()
	c.send(t, open)
	ev := c.expect(t, "open")
	return c, s.accept(t), ev
}

// roundTrip has the client send a message: the server's reader gets it
// with its type and exact bytes, and the client gets the same back.
func roundTrip(t *testing.T, c *client, sc *serverConn, name string, typ websocket.MessageType, data []byte) {
	t.Helper()
	wireType, wire := wireData(typ, data)
	c.send(t, command{Op: "send", Type: wireType, Data: wire})

	got, ok := sc.tryNextMessage()
	if !ok {
		// Say how the connection failed, from both sides.
		ev, _ := c.events.pop(promptly)
		select {
		case <-sc.readDone:
			t.Fatalf("%s (%s, %d bytes): the server's reader ended with %v; the client then reported %v",
				name, wireType, len(data), sc.readErr, ev)
		default:
			t.Fatalf("%s: the server read no message within %v; the client reported %v", name, eventTimeout, ev)
		}
	}
	assert.Equal(t, typ, got.typ, "%s: the server's message type", name)
	requireSameBytes(t, data, got.data, name+": the server's message")

	ev := c.expect(t, "message")
	assert.Equal(t, wireType, ev.Type, "%s: the echo's type", name)
	echo := []byte(ev.Data)
	if ev.Type == "binary" {
		var err error
		echo, err = base64.StdEncoding.DecodeString(ev.Data)
		require.NoError(t, err)
	}
	requireSameBytes(t, data, echo, name+": the echo")
}

// wireData is how a message's payload travels in a command or an event.
func wireData(typ websocket.MessageType, data []byte) (string, string) {
	if typ == websocket.TextMessage {
		return "text", string(data)
	}
	return "binary", base64.StdEncoding.EncodeToString(data)
}

// requireSameBytes compares payloads without printing a MiB of them.
func requireSameBytes(t *testing.T, want, got []byte, what string) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	t.Fatalf("%s: got %d bytes, want %d; first difference at byte %d", what, len(got), len(want), i)
}

// mibText is exactly 1 MiB of UTF-8 text mixing 1- to 4-byte characters.
func mibText() []byte {
	const unit = "aé日😀" // 1+2+3+4 bytes
	b := []byte(strings.Repeat(unit, (1<<20)/len(unit)))
	return append(b, strings.Repeat("z", (1<<20)-len(b))...)
}

// mibBinary is exactly 1 MiB of every byte value in a long period.
func mibBinary() []byte {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// Scenario 1: messages come back intact, up to the default read limit of
// exactly 1 MiB. The small ones come back in one frame, the 1 MiB ones in
// fragments (see streamAbove).
func TestEcho(t *testing.T) {
	cases := []struct {
		name string
		typ  websocket.MessageType
		data []byte
	}{
		{"ascii text", websocket.TextMessage, []byte("hello, world")},
		{"multi-byte text", websocket.TextMessage, []byte("héllo wörld ✓ 日本語 😀")},
		{"binary", websocket.BinaryMessage, allBytes()},
		{"empty text", websocket.TextMessage, []byte{}},
		{"empty binary", websocket.BinaryMessage, []byte{}},
		{"1 MiB text", websocket.TextMessage, mibText()},
		{"1 MiB binary", websocket.BinaryMessage, mibBinary()},
	}
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc, open := connectWith(t, ck, scenarioUpgrader(), command{})
		// Every client offers permessage-deflate; compression is off.
		assert.Equal(t, "", open.Extensions, "no extension without Upgrader.Compression")
		for _, tc := range cases {
			roundTrip(t, c, sc, tc.name, tc.typ, tc.data)
		}
		c.send(t, command{Op: "close", Code: 1000})
		ev, _ := c.expectClose(t)
		assert.Equal(t, 1000, ev.Code)
	})
}

// Scenario 1b: a message the client sends in fragments of its choosing,
// empty ones too, reaches the server whole and comes back intact. Node
// also splits text inside characters, which the server's UTF-8 check must
// take across frames.
func TestEchoFragmented(t *testing.T) {
	b64 := func(parts ...string) []string {
		out := make([]string, len(parts))
		for i, p := range parts {
			out[i] = base64.StdEncoding.EncodeToString([]byte(p))
		}
		return out
	}
	cases := []struct {
		name       string
		typ        websocket.MessageType
		want       string
		cmd        command
		splitBytes bool
	}{
		{"text", websocket.TextMessage, "héllo wörld ✓",
			command{Type: "text", Fragments: []string{"hé", "llo ", "", "wörld ✓"}}, false},
		{"binary", websocket.BinaryMessage, "\x00\x01\x02\xff\xfe",
			command{Type: "binary", Fragments: b64("\x00\x01", "", "\x02\xff\xfe")}, false},
		{"text split inside characters", websocket.TextMessage, "✓😀",
			command{Type: "text", Base64: true, Fragments: b64("\xe2", "\x9c\x93\xf0\x9f", "\x98", "\x80")}, true},
		{"empty final fragment", websocket.TextMessage, "end",
			command{Type: "text", Fragments: []string{"end", ""}}, false},
	}
	canFragment := func(ck clientKind) bool { return ck.fragments }
	forEachClient(t, canFragment, func(t *testing.T, ck clientKind) {
		c, sc := connect(t, ck, scenarioUpgrader())
		for _, tc := range cases {
			if tc.splitBytes && !ck.splitBytes {
				continue
			}
			cmd := tc.cmd
			cmd.Op = "send"
			c.send(t, cmd)
			assert.Equal(t, message{tc.typ, []byte(tc.want)}, sc.nextMessage(t), tc.name)
			typ, data := wireData(tc.typ, []byte(tc.want))
			ev := c.expect(t, "message")
			assert.Equal(t, typ, ev.Type, tc.name)
			assert.Equal(t, data, ev.Data, tc.name)
		}
	})
}

// Scenario 2: the client closes with a code and reason. The server's
// application sees exactly those; the server echoes code and reason and
// closes TCP, so the client's close completes at once (Node's ws and
// websockets would otherwise wait for their own timeouts, 30 s and 10 s).
func TestClientClose(t *testing.T) {
	cases := []struct {
		name   string
		code   int
		reason string
	}{
		{"1000 without reason", 1000, ""},
		{"4000 with reason", 4000, "client bye ✓"},
		{"3001 with reason", 3001, "registered"},
	}
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c, sc := connect(t, ck, scenarioUpgrader())
				clientCloses(t, ck, c, sc, "before close", tc.code, tc.reason)
			})
		}
	})
}

// clientCloses is scenario 2 on an open connection: the client sends last,
// then closes with code and reason.
func clientCloses(t *testing.T, ck clientKind, c *client, sc *serverConn, last string, code int, reason string) {
	t.Helper()
	clientSendsClose(t, ck, c, last, code, reason)

	assert.Equal(t, message{websocket.TextMessage, []byte(last)}, sc.nextMessage(t))
	err := sc.waitReadErr(t, promptly)
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.StatusCode(code), ce.Code)
	assert.Equal(t, reason, ce.Reason)
	assert.Equal(t, websocket.CloseEvent{
		Code:      websocket.StatusCode(code),
		Reason:    reason,
		WasClean:  true,
		Initiator: websocket.SidePeer,
	}, sc.waitDone(t, promptly))
}

// clientSendsClose is the client's side of scenario 2: it sends last,
// then its close frame, and checks that the close completes promptly and
// cleanly with its own code and reason echoed.
func clientSendsClose(t *testing.T, ck clientKind, c *client, last string, code int, reason string) {
	t.Helper()
	// A message right before the close frame reaches the server's reader
	// first.
	c.send(t, command{Op: "send", Type: "text", Data: last})
	start := time.Now()
	c.send(t, command{Op: "close", Code: code, Reason: reason})
	// Its echo may come to the client before the close or not at all: a
	// browser drops messages once it is closing.
	var ev event
	sawError := false
	for {
		ev = c.next(t)
		if ev.Event == "message" {
			assert.Equal(t, last, ev.Data)
			continue
		}
		if ev.Event == "error" {
			sawError = true
			continue
		}
		require.Equal(t, "close", ev.Event, "%s: want the close event, got %v", c.name, ev)
		break
	}
	took := ev.at.Sub(start)
	t.Logf("%s: close event %v after %v", ck.name, ev, took)
	assert.Equal(t, code, ev.Code, "the client sees the server's echo of its code")
	assert.Equal(t, reason, ev.Reason, "the client sees the server's echo of its reason")
	assert.Less(t, took, promptly, "the client's close completes: the server answered and closed TCP")
	if ck.name == chromium {
		require.NotNil(t, ev.WasClean)
		assert.True(t, *ev.WasClean, "wasClean")
		assert.False(t, sawError, "no error event on a clean close")
	}
}

// Scenario 3: the server sends a message, then Close(4001, "bye"). The
// client gets the message, then the close with that code and reason, and
// Close returns nil well inside its close timeout.
func TestServerClose(t *testing.T) {
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc := connect(t, ck, scenarioUpgrader())
		serverCloses(t, ck, c, sc, "last words")
	})
}

// serverCloses is scenario 3 on an open connection: the server sends last,
// then calls Close(4001, "bye").
func serverCloses(t *testing.T, ck clientKind, c *client, sc *serverConn, last string) {
	t.Helper()
	require.NoError(t, sc.WriteMessage(websocket.TextMessage, []byte(last)))
	start := time.Now()
	err := sc.Close(4001, "bye")
	took := time.Since(start)
	t.Logf("%s: Close(4001, \"bye\") returned %v after %v (CloseTimeout %v)", ck.name, err, took, closeTimeout)
	require.NoError(t, err)
	assert.Less(t, took, promptly, "Close returns once the client answered, far inside its timeout")

	ev := c.expect(t, "message")
	assert.Equal(t, event{Event: "message", Type: "text", Data: last}, event{Event: ev.Event, Type: ev.Type, Data: ev.Data})
	ev, sawError := c.expectClose(t)
	assert.Equal(t, 4001, ev.Code)
	assert.Equal(t, "bye", ev.Reason)
	if ck.name == chromium {
		require.NotNil(t, ev.WasClean)
		assert.True(t, *ev.WasClean, "wasClean")
		assert.False(t, sawError, "no error event on a clean close")
	}

	cev := sc.waitDone(t, promptly)
	t.Logf("%s: the server's CloseEvent: %+v", ck.name, cev)
	assert.True(t, cev.WasClean)
	assert.Equal(t, websocket.SideLocal, cev.Initiator)
	assert.NoError(t, cev.Err)
	// The code is the client's answer; each client echoes 4001.
	assert.Equal(t, websocket.StatusCode(4001), cev.Code)
	err = sc.waitReadErr(t, promptly)
	assert.Equal(t, cev.Code, websocket.CloseStatus(err), "the reader gets the client's answer: %v", err)
}

// Scenario 4: the server calls Terminate: the client sees 1006, not clean,
// at once.
func TestServerTerminate(t *testing.T) {
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc := connect(t, ck, scenarioUpgrader())
		serverTerminates(t, ck, c, sc)
	})
}

// serverTerminates is scenario 4 on an open connection.
func serverTerminates(t *testing.T, ck clientKind, c *client, sc *serverConn) {
	t.Helper()
	start := time.Now()
	require.NoError(t, sc.Terminate())
	ev, sawError := c.expectClose(t)
	took := ev.at.Sub(start)
	t.Logf("%s: close event %v after %v", ck.name, ev, took)
	assert.Equal(t, 1006, ev.Code)
	assert.Equal(t, "", ev.Reason)
	assert.Less(t, took, promptly)
	if ck.name == chromium {
		require.NotNil(t, ev.WasClean)
		assert.False(t, *ev.WasClean, "wasClean")
		// Chromium fires no error event here: it fires one only when
		// it fails the connection itself, not when TCP just ends.
		t.Logf("chromium fired an error event first: %v", sawError)
	}

	cev := sc.waitDone(t, promptly)
	assert.Equal(t, websocket.StatusAbnormalClosure, cev.Code)
	assert.False(t, cev.WasClean)
	assert.Equal(t, websocket.SideLocal, cev.Initiator)
	assert.ErrorIs(t, cev.Err, websocket.ErrTerminated)
	err := sc.waitReadErr(t, promptly)
	assert.Equal(t, websocket.StatusAbnormalClosure, websocket.CloseStatus(err))
	assert.ErrorIs(t, err, websocket.ErrTerminated)
}

// Scenario 5: the client drops TCP (Node's ws.terminate(); the Python
// process is killed): the server's reader gets 1006 at once and the
// connection is done.
func TestClientTerminate(t *testing.T) {
	canTerminate := func(ck clientKind) bool { return ck.terminate != nil }
	forEachClient(t, canTerminate, func(t *testing.T, ck clientKind) {
		c, sc := connect(t, ck, scenarioUpgrader())
		clientTerminates(t, ck, c, sc)
	})
}

// clientTerminates is scenario 5 on an open connection.
func clientTerminates(t *testing.T, ck clientKind, c *client, sc *serverConn) {
	t.Helper()
	start := time.Now()
	ck.terminate(t, c)
	err := sc.waitReadErr(t, promptly)
	t.Logf("%s: the server's reader got %v after %v", ck.name, err, time.Since(start))
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.StatusAbnormalClosure, ce.Code)
	select {
	case <-sc.Done():
	default:
		t.Fatal("Done is not closed when the reader got the final error")
	}
	cev := sc.CloseEvent()
	assert.Equal(t, websocket.StatusAbnormalClosure, cev.Code)
	assert.False(t, cev.WasClean)
	assert.Equal(t, websocket.SidePeer, cev.Initiator)
	assert.Error(t, cev.Err)
}

// Scenario 6a: the client offers several subprotocols; both sides agree on
// the server's choice, the first of Upgrader.Subprotocols the client offers.
// With none in common the server, as RFC 6455 section 4.2.2 says, names
// none in its response: websockets then goes on without one, while a
// browser (as the WHATWG WebSocket standard requires) and Node's ws fail
// the connection they asked a subprotocol for.
func TestSubprotocols(t *testing.T) {
	u := scenarioUpgrader()
	u.Subprotocols = []string{"chat.v2", "chat.v1"}
	cases := []struct {
		name      string
		offer     []string
		want      string
		refusedBy []string // clients that fail a response without a subprotocol
	}{
		{"the server's preference wins", []string{"chat.v1", "chat.v2", "other"}, "chat.v2", nil},
		{"the one in common", []string{"other", "chat.v1"}, "chat.v1", nil},
		{"none in common", []string{"other"}, "", []string{chromium, nodeWS}},
	}
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newScenarioServer(t, u)
				c := ck.start(t, s.URL)
				c.open(t, s.wsURL(), tc.offer...)
				if slices.Contains(tc.refusedBy, ck.name) {
					ev, sawError := c.expectClose(t)
					assert.Equal(t, 1006, ev.Code)
					assert.True(t, sawError, "the client reports why it failed the connection")
					sc := s.accept(t)
					assert.Equal(t, "", sc.Subprotocol())
					cev := sc.waitDone(t, promptly)
					assert.Equal(t, websocket.StatusAbnormalClosure, cev.Code)
					assert.Equal(t, websocket.SidePeer, cev.Initiator)
					return
				}
				ev := c.expect(t, "open")
				sc := s.accept(t)
				assert.Equal(t, tc.want, ev.Protocol, "the client's protocol")
				assert.Equal(t, tc.want, sc.Subprotocol(), "the server's Subprotocol()")
			})
		}
	})
}

// Scenario 6b: the default origin check refuses a page of another origin.
// The page comes from a second server (another port, so another origin)
// and connects to the first; the browser gets an error and a 1006 close,
// and the first server's Upgrade returned an HTTP 403 error. Node and
// Python send the Origin header they are told to.
func TestCrossOrigin(t *testing.T) {
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		s := newScenarioServer(t, scenarioUpgrader())
		other := newScenarioServer(t, scenarioUpgrader())
		c := ck.start(t, other.URL)
		if ck.name == chromium {
			c.open(t, s.wsURL())
			ev, sawError := c.expectClose(t)
			assert.Equal(t, 1006, ev.Code)
			require.NotNil(t, ev.WasClean)
			assert.False(t, *ev.WasClean)
			assert.True(t, sawError, "the browser fires error for a refused handshake")
		} else {
			c.send(t, command{Op: "open", URL: s.wsURL(), Origin: other.URL})
			ev := c.expect(t, "rejected")
			assert.Equal(t, 403, ev.Status)
		}
		err, ok := s.refused.pop(eventTimeout)
		require.True(t, ok, "the server's Upgrade returned no error")
		assert.ErrorIs(t, err, websocket.ErrBadHandshake)
		assert.Contains(t, err.Error(), "HTTP 403")
		_, upgraded := s.conns.pop(0)
		assert.False(t, upgraded, "no connection was upgraded")

		if ck.name != chromium {
			// The same client with the server's own origin gets in.
			c := ck.start(t, s.URL)
			c.send(t, command{Op: "open", URL: s.wsURL(), Origin: s.URL})
			c.expect(t, "open")
			s.accept(t)
		}
	})
}

// Scenario 7a: the client pings; the server, which is reading, answers
// with a pong carrying the same payload.
func TestClientPing(t *testing.T) {
	canPing := func(ck clientKind) bool { return ck.ping }
	forEachClient(t, canPing, func(t *testing.T, ck clientKind) {
		c, _ := connect(t, ck, scenarioUpgrader())
		for _, payload := range []string{"are you there? ✓", ""} {
			c.send(t, command{Op: "ping", Data: payload})
			ev := c.expect(t, "pong")
			assert.Equal(t, payload, ev.Data)
		}
	})
}

// Scenario 7b: the server pings; every client answers on its own, and Ping
// returns once the pong with its payload is read.
func TestServerPing(t *testing.T) {
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		_, sc := connect(t, ck, scenarioUpgrader())
		ctx, cancel := context.WithTimeout(context.Background(), promptly)
		defer cancel()
		start := time.Now()
		require.NoError(t, sc.Ping(ctx, []byte("server ping ✓")))
		t.Logf("%s: pong after %v", ck.name, time.Since(start))
	})
}

// Scenario 3b: the server closes while messages fly both ways: the client
// is sending, the server is echoing large messages in fragments. Close
// still completes cleanly; the server's reader gets, intact and in order,
// the messages the client sent before its answer, then the close.
func TestServerCloseDuringTraffic(t *testing.T) {
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc := connect(t, ck, scenarioUpgrader())
		serverClosesDuringTraffic(t, ck, c, sc)
	})
}

// serverClosesDuringTraffic is scenario 3b on an open connection.
func serverClosesDuringTraffic(t *testing.T, ck clientKind, c *client, sc *serverConn) {
	t.Helper()
	const count, size = 5, 200 << 10
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, size) }
	for i := range count {
		typ, data := wireData(websocket.BinaryMessage, payload(i))
		c.send(t, command{Op: "send", Type: typ, Data: data})
	}
	requireSameBytes(t, payload(0), sc.nextMessage(t).data, "message 0")

	start := time.Now()
	err := sc.Close(4001, "bye")
	took := time.Since(start)
	t.Logf("%s: Close returned %v after %v", ck.name, err, took)
	require.NoError(t, err)
	assert.Less(t, took, promptly)

	readErr := sc.waitReadErr(t, promptly)
	assert.Equal(t, websocket.StatusCode(4001), websocket.CloseStatus(readErr), "the reader's error: %v", readErr)
	got := 1
	for {
		m, ok := sc.msgs.pop(0)
		if !ok {
			break
		}
		requireSameBytes(t, payload(got), m.data, fmt.Sprintf("message %d", got))
		got++
	}
	t.Logf("%s: the server read %d of %d messages before the close", ck.name, got, count)
	cev := sc.CloseEvent()
	assert.True(t, cev.WasClean, "%+v", cev)

	wantEchoesThenClose(t, c, ck, payload, 4001, "bye")
}

// wantEchoesThenClose checks that the client saw whole echoes only, the
// i-th being payload(i), then a clean close with code and reason; it
// returns how many echoes came.
func wantEchoesThenClose(t *testing.T, c *client, ck clientKind, payload func(int) []byte, code int, reason string) int {
	t.Helper()
	echoes := 0
	for {
		ev := c.next(t)
		if ev.Event == "message" {
			echo, err := base64.StdEncoding.DecodeString(ev.Data)
			require.NoError(t, err)
			requireSameBytes(t, payload(echoes), echo, fmt.Sprintf("echo %d", echoes))
			echoes++
			continue
		}
		if ev.Event == "error" && strings.Contains(ev.Message, "ConnectionClosed") {
			// websockets fails a send that comes after the close; the
			// others drop it quietly.
			t.Logf("%s: %s", ck.name, ev.Message)
			continue
		}
		require.Equal(t, "close", ev.Event, "%v", ev)
		assert.Equal(t, code, ev.Code)
		assert.Equal(t, reason, ev.Reason)
		if ev.WasClean != nil {
			assert.True(t, *ev.WasClean)
		}
		return echoes
	}
}
