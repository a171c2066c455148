package websocket

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
)

// h2Transport is x/net's HTTP/2 client transport over unencrypted
// HTTP/2 (h2c with prior knowledge), closed at the end of the test.
// net/http's Transport cannot be used: it refuses the :protocol header
// before its HTTP/2 code, which would send it, sees the request.
func h2Transport(t testing.TB) *http2.Transport {
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// dialH2Pair dials the server through tr and returns both ends.
func dialH2Pair(t *testing.T, srv *h2Server, d *Dialer) (*Conn, *Conn) {
	t.Helper()
	client, resp, err := d.DialContext(context.Background(), "ws://"+srv.srv.Listener.Addr().String()+"/ws", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Terminate() })
	require.Equal(t, 2, resp.ProtoMajor)
	return client, srv.h2Conn(t)
}

// TestH2Dial: two WebSockets and a plain request through one Transport
// share one TCP connection, and both close directions end clean on both
// sides.
func TestH2Dial(t *testing.T) {
	srv := startH2Server(t, &Upgrader{Subprotocols: []string{"chat"}})
	tr := h2Transport(t)
	d := &Dialer{HTTP2Transport: tr, Subprotocols: []string{"chat"}}
	c1, s1 := dialH2Pair(t, srv, d)
	c2, s2 := dialH2Pair(t, srv, d)
	require.Equal(t, "chat", c1.Subprotocol())

	require.NoError(t, c1.WriteMessage(TextMessage, []byte("ping")))
	_, msg, err := s1.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "ping", string(msg))
	require.NoError(t, s1.WriteMessage(TextMessage, []byte("pong")))
	_, msg, err = c1.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "pong", string(msg))

	resp, err := (&http.Client{Transport: tr}).Get("http://" + srv.srv.Listener.Addr().String() + "/plain")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "plain", string(body))
	require.Equal(t, int32(1), srv.tcp.Load(), "one TCP connection")

	// The client closes c1: the server reads its close, both are clean.
	serverRead := make(chan error, 1)
	go func() { _, _, err := s1.ReadMessage(); serverRead <- err }()
	require.NoError(t, c1.Close(4001, "client bye"))
	require.Equal(t, StatusCode(4001), CloseStatus(<-serverRead))
	require.Equal(t, CloseEvent{Code: 4001, Reason: "client bye", WasClean: true, Initiator: SideLocal}, wantDone(t, c1))
	require.Equal(t, CloseEvent{Code: 4001, Reason: "client bye", WasClean: true, Initiator: SidePeer}, wantDone(t, s1))

	// The server closes s2.
	clientRead := make(chan error, 1)
	go func() { _, _, err := c2.ReadMessage(); clientRead <- err }()
	require.NoError(t, s2.Close(4002, "server bye"))
	require.Equal(t, StatusCode(4002), CloseStatus(<-clientRead))
	require.Equal(t, CloseEvent{Code: 4002, Reason: "server bye", WasClean: true, Initiator: SideLocal}, wantDone(t, s2))
	require.Equal(t, CloseEvent{Code: 4002, Reason: "server bye", WasClean: true, Initiator: SidePeer}, wantDone(t, c2))
}

// TestH2DialTerminate: a client's Terminate resets its stream; the server
// sees 1006 from the peer, and the connection's other stream goes on.
func TestH2DialTerminate(t *testing.T) {
	srv := startH2Server(t, &Upgrader{})
	d := &Dialer{HTTP2Transport: h2Transport(t)}
	c1, s1 := dialH2Pair(t, srv, d)
	c2, s2 := dialH2Pair(t, srv, d)
	require.NoError(t, c1.Terminate())
	_, _, err := s1.ReadMessage()
	require.Equal(t, StatusAbnormalClosure, CloseStatus(err))
	ev := wantDone(t, s1)
	require.Equal(t, SidePeer, ev.Initiator)
	require.False(t, ev.WasClean)

	require.NoError(t, c2.WriteMessage(BinaryMessage, []byte{1, 2, 3}))
	_, msg, err := s2.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, []byte{1, 2, 3}, msg)
	require.Equal(t, int32(1), srv.tcp.Load())
}

// TestH2DialRefused: a refusal comes back as ErrBadHandshake with the
// server's response and its body.
func TestH2DialRefused(t *testing.T) {
	srv := startH2Server(t, &Upgrader{})
	stats := &Stats{}
	d := &Dialer{HTTP2Transport: h2Transport(t), Stats: stats}
	_, resp, err := d.DialContext(context.Background(), "ws://"+srv.srv.Listener.Addr().String()+"/ws",
		http.Header{"Origin": {"http://evil.example"}})
	require.ErrorIs(t, err, ErrBadHandshake)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	require.Contains(t, string(body), "origin not allowed")
	require.Equal(t, uint64(1), stats.Snapshot().Refused[Refusal{Status: 403, Reason: RefusalStatus}])
}

// TestH2DialWriteTimeout: a server that does not read holds a client's
// write at its flow-control window until the WriteTimeout, which resets
// the stream.
func TestH2DialWriteTimeout(t *testing.T) {
	srv := startH2Server(t, &Upgrader{ReadLimit: -1})
	d := &Dialer{HTTP2Transport: h2Transport(t), WriteTimeout: 200 * time.Millisecond}
	client, server := dialH2Pair(t, srv, d)
	// net/http's server grants a stream 1 MiB until its handler reads.
	err := client.WriteMessage(BinaryMessage, make([]byte, 4<<20))
	require.ErrorIs(t, err, ErrWriteTimeout)
	ev := wantDone(t, client)
	require.ErrorIs(t, ev.Err, ErrWriteTimeout)
	require.Equal(t, SideLocal, ev.Initiator)
	_, _, err = server.ReadMessage()
	require.Equal(t, StatusAbnormalClosure, CloseStatus(err), "%v", err)
	require.Equal(t, SidePeer, wantDone(t, server).Initiator)
}
