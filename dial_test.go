package websocket

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file runs our client against our server over loopback.

// dialPair dials a fresh server that upgrades with u, using d, and returns
// the client's Conn and the server's.
func dialPair(t *testing.T, u *Upgrader, d *Dialer) (client, server *Conn) {
	t.Helper()
	if u == nil {
		u = &Upgrader{}
	}
	srv, conns := startServer(t, u)
	client, _, err := d.Dial("ws://"+srv.Listener.Addr().String()+"/", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Terminate() })
	return client, <-conns
}

// echo runs a streaming echo on c until it ends.
func echo(c *Conn) {
	go func() {
		for {
			typ, r, err := c.NextReader()
			if err != nil {
				return
			}
			w, err := c.NextWriter(typ)
			if err != nil {
				return
			}
			_, _ = io.Copy(w, r)
			_ = w.Close()
		}
	}()
}

// TestDialEcho: messages of every size class go out masked and come back
// whole, in each compression mode; the caller's slices stay as they were.
func TestDialEcho(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 4095, 4096, 65535, 65536, 200 << 10}
	for _, mode := range []CompressionMode{CompressionDisabled, CompressionNoContextTakeover, CompressionContextTakeover} {
		t.Run(fmt.Sprintf("compression %d", mode), func(t *testing.T) {
			client, server := dialPair(t, &Upgrader{Compression: mode}, &Dialer{Compression: mode})
			assert.Equal(t, mode != CompressionDisabled, client.deflate != nil)
			echo(server)
			for _, n := range sizes {
				for _, typ := range []MessageType{TextMessage, BinaryMessage} {
					msg := bytes.Repeat([]byte("websocket "), n/10+1)[:n]
					sent := bytes.Clone(msg)
					require.NoError(t, client.WriteMessage(typ, msg))
					assert.Equal(t, sent, msg, "WriteMessage changed the caller's slice")
					gotTyp, got, err := client.ReadMessage()
					require.NoError(t, err)
					assert.Equal(t, typ, gotTyp)
					require.True(t, bytes.Equal(msg, got), "%v of %d bytes came back as %d bytes", typ, n, len(got))
				}
			}
			// Bytes that do not compress: the compressed message spans
			// several frames.
			noise := make([]byte, 150<<10)
			_, _ = rand.NewChaCha8([32]byte{1}).Read(noise)
			require.NoError(t, client.WriteMessage(BinaryMessage, noise))
			_, got, err := client.ReadMessage()
			require.NoError(t, err)
			require.True(t, bytes.Equal(noise, got), "noise came back as %d bytes", len(got))
			// A message in fragments, with writes small and large.
			w, err := client.NextWriter(BinaryMessage)
			require.NoError(t, err)
			var want []byte
			for _, n := range []int{10, 70 << 10, 3, 5000} {
				part := bytes.Repeat([]byte{byte(n)}, n)
				sent := bytes.Clone(part)
				_, err := w.Write(part)
				require.NoError(t, err)
				assert.Equal(t, sent, part, "Write changed the caller's slice")
				want = append(want, part...)
			}
			require.NoError(t, w.Close())
			_, got, err = client.ReadMessage()
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got), "fragmented message came back as %d bytes", len(got))
			require.NoError(t, client.Close(StatusNormalClosure, ""))
		})
	}
}

// orderConn records whether the client's end read the server's FIN before
// it closed the connection.
type orderConn struct {
	net.Conn
	mu             sync.Mutex
	sawEOF         bool
	eofBeforeClose bool
	closed         bool
}

func (c *orderConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err == io.EOF {
		c.mu.Lock()
		c.sawEOF = true
		c.mu.Unlock()
	}
	return n, err
}

func (c *orderConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed, c.eofBeforeClose = true, c.sawEOF
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// orderDialer is a Dialer whose connections are orderConns.
func orderDialer() (*Dialer, <-chan *orderConn) {
	conns := make(chan *orderConn, 1)
	return &Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		oc := &orderConn{Conn: c}
		conns <- oc
		return oc, nil
	}}, conns
}

// TestDialCloseHandshake: a close started by either side reaches the
// other with its code and reason; both ends are clean, and the server
// closes TCP before the client does.
func TestDialCloseHandshake(t *testing.T) {
	for _, clientStarts := range []bool{true, false} {
		t.Run(map[bool]string{true: "client starts", false: "server starts"}[clientStarts], func(t *testing.T) {
			d, conns := orderDialer()
			client, server := dialPair(t, nil, d)
			wire := <-conns
			clientMsgs, serverMsgs := readAll(client), readAll(server)
			require.NoError(t, client.WriteMessage(TextMessage, []byte("before the close")))
			assert.Equal(t, "before the close", (<-serverMsgs).data)
			starter, other := client, server
			starterMsgs, otherMsgs := clientMsgs, serverMsgs
			if !clientStarts {
				starter, other = server, client
				starterMsgs, otherMsgs = serverMsgs, clientMsgs
			}
			require.NoError(t, starter.Close(4001, "bye"))
			want := &CloseError{Code: 4001, Reason: "bye"}
			assert.Equal(t, want, (<-otherMsgs).err)
			assert.Equal(t, want, (<-starterMsgs).err, "the echo")
			<-other.Done()
			assert.Equal(t, CloseEvent{Code: 4001, Reason: "bye", WasClean: true, Initiator: SideLocal}, starter.CloseEvent())
			assert.Equal(t, CloseEvent{Code: 4001, Reason: "bye", WasClean: true, Initiator: SidePeer}, other.CloseEvent())
			wire.mu.Lock()
			defer wire.mu.Unlock()
			assert.True(t, wire.closed)
			assert.True(t, wire.eofBeforeClose, "the client closed TCP before the server did")
		})
	}
}

// TestDialTerminate: Terminate by either side drops TCP; the other sees
// 1006.
func TestDialTerminate(t *testing.T) {
	for _, clientTerminates := range []bool{true, false} {
		t.Run(map[bool]string{true: "client", false: "server"}[clientTerminates], func(t *testing.T) {
			client, server := dialPair(t, nil, nil)
			dropper, other := client, server
			if !clientTerminates {
				dropper, other = server, client
			}
			msgs := readAll(other)
			require.NoError(t, dropper.Terminate())
			m := <-msgs
			assert.Equal(t, StatusAbnormalClosure, CloseStatus(m.err))
			<-other.Done()
			ev := other.CloseEvent()
			assert.Equal(t, StatusAbnormalClosure, ev.Code)
			assert.False(t, ev.WasClean)
			assert.Equal(t, SidePeer, ev.Initiator)
			assert.ErrorIs(t, dropper.CloseEvent().Err, ErrTerminated)
		})
	}
}

// TestDialServe: a dialled TCP connection reads with the raw socket path,
// so that Serve parks it in the poller as it does a served one.
func TestDialServe(t *testing.T) {
	client, server := dialPair(t, nil, nil)
	require.NotNil(t, client.br.raw, "a dialled TCP socket reads without a buffer while idle")
	parked, ended := served(t, client)
	wantParked(t, parked)
	serverMsgs := readAll(server)
	require.NoError(t, server.WriteMessage(TextMessage, []byte("ping me back")))
	assert.Equal(t, "ping me back", (<-serverMsgs).data) // served's echo
	wantParked(t, parked)
	require.NoError(t, server.Close(StatusGoingAway, "restart"))
	ev := wantEnded(t, ended)
	assert.Equal(t, CloseEvent{Code: StatusGoingAway, Reason: "restart", WasClean: true, Initiator: SidePeer}, ev)
}

// TestDialGroup: a Dialer's Group drains its client connections, and
// refuses new dials while it does.
func TestDialGroup(t *testing.T) {
	g := &Group{}
	client, server := dialPair(t, nil, &Dialer{Group: g})
	require.Equal(t, 1, g.Len())
	msgs := readAll(server)
	readAll(client)
	res, err := g.Shutdown(context.Background(), StatusGoingAway, "deploy")
	require.NoError(t, err)
	assert.Equal(t, 1, res.Clean)
	assert.Equal(t, &CloseError{Code: StatusGoingAway, Reason: "deploy"}, (<-msgs).err)
	_, _, err = (&Dialer{Group: g}).Dial("ws://127.0.0.1:1/", nil)
	assert.ErrorIs(t, err, ErrShuttingDown)
}
