package websocket

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"
)

// netConnPair dials a fresh server and returns both ends as net.Conns of
// binary messages, with the Conns under them.
func netConnPair(t *testing.T) (client, server net.Conn, cc, sc *Conn) {
	t.Helper()
	cc, sc = dialPair(t, nil, nil)
	client, err := NetConn(cc, BinaryMessage)
	require.NoError(t, err)
	server, err = NetConn(sc, BinaryMessage)
	require.NoError(t, err)
	t.Cleanup(func() { closeBoth(client, server) })
	return client, server, cc, sc
}

// closeBoth closes a and b at once: each Close waits for the other side's
// close frame, which only a reader or a Close of that side reads.
func closeBoth(a, b io.Closer) {
	done := make(chan struct{})
	go func() {
		_ = a.Close()
		close(done)
	}()
	_ = b.Close()
	<-done
}

// noise returns n reproducible random bytes.
func noise(seed byte, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// readAllWithin reads r to its end, failing the test after wireTimeout.
func readAllWithin(t *testing.T, r io.Reader) []byte {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	got := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		got <- result{b, err}
	}()
	select {
	case res := <-got:
		require.NoError(t, res.err)
		return res.b
	case <-time.After(wireTimeout):
		t.Fatal("the stream did not end")
		return nil
	}
}

// TestNetConnCopyBothWays: several MiB go each way at once through
// io.Copy, as many messages, and arrive whole and in order; Close on one
// side is io.EOF on the other.
func TestNetConnCopyBothWays(t *testing.T) {
	client, server, _, _ := netConnPair(t)
	up, down := noise(1, 5<<20+17), noise(2, 3<<20+5)
	copyThenClose := func(nc net.Conn, data []byte) <-chan error {
		done := make(chan error, 1)
		go func() {
			_, err := io.Copy(nc, bytes.NewReader(data))
			done <- err
		}()
		return done
	}
	upDone, downDone := copyThenClose(client, up), copyThenClose(server, down)
	atServer, atClient := make(chan []byte, 1), make(chan []byte, 1)
	readN := func(nc net.Conn, n int, to chan<- []byte) {
		b, err := io.ReadAll(io.LimitReader(nc, int64(n)))
		assert.NoError(t, err)
		to <- b
	}
	go readN(server, len(up), atServer)
	go readN(client, len(down), atClient)
	for _, ch := range []<-chan []byte{atServer, atClient} {
		select {
		case b := <-ch:
			if len(b) == len(up) {
				require.True(t, bytes.Equal(up, b), "client to server: the bytes differ")
			} else {
				require.True(t, bytes.Equal(down, b), "server to client: %d bytes of %d, or they differ", len(b), len(down))
			}
		case <-time.After(wireTimeout):
			t.Fatal("the copy did not finish")
		}
	}
	require.NoError(t, <-upDone)
	require.NoError(t, <-downDone)
	// The client closes: the server's stream ends with io.EOF.
	closed := make(chan error, 1)
	go func() { closed <- client.Close() }()
	n, err := server.Read(make([]byte, 1))
	assert.Equal(t, 0, n)
	assert.Equal(t, io.EOF, err)
	require.NoError(t, <-closed)
}

// TestNetConnSmallReads: reads of 3 bytes cross message boundaries, skip
// empty messages, and never return more than asked.
func TestNetConnSmallReads(t *testing.T) {
	client, _, _, sc := netConnPair(t)
	var want []byte
	for i, n := range []int{1, 5, 0, 100, 7, 0, 0, 2} {
		msg := noise(byte(i), n)
		want = append(want, msg...)
		require.NoError(t, sc.WriteMessage(BinaryMessage, msg))
	}
	require.NoError(t, client.SetReadDeadline(time.Now().Add(wireTimeout)))
	var got []byte
	buf := make([]byte, 3)
	for len(got) < len(want) {
		n, err := client.Read(buf)
		require.NoError(t, err)
		require.LessOrEqual(t, n, len(buf))
		got = append(got, buf[:n]...)
	}
	assert.Equal(t, want, got)
}

// TestNetConnWrongType: a text message in a binary stream ends the stream
// with an error and closes the connection with 1003.
func TestNetConnWrongType(t *testing.T) {
	client, _, _, sc := netConnPair(t)
	require.NoError(t, sc.WriteMessage(BinaryMessage, []byte("ok")))
	require.NoError(t, sc.WriteMessage(TextMessage, []byte("not here")))
	require.NoError(t, client.SetReadDeadline(time.Now().Add(wireTimeout)))
	buf := make([]byte, 10)
	n, err := client.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "ok", string(buf[:n]))
	_, err = client.Read(buf)
	require.ErrorIs(t, err, ErrUnexpectedMessageType)
	_, err = client.Read(buf)
	require.ErrorIs(t, err, ErrUnexpectedMessageType, "the end is sticky")
	// The server's own read sees the client's 1003.
	_, _, err = sc.ReadMessage()
	assert.Equal(t, StatusUnsupportedData, CloseStatus(err))
}

// TestNetConnCloseHandshake: Close is a clean closing handshake with 1000;
// a second Close returns net.ErrClosed; Read and Write after Close too.
func TestNetConnCloseHandshake(t *testing.T) {
	client, _, cc, sc := netConnPair(t)
	_, err := client.Write([]byte("last words"))
	require.NoError(t, err)
	readerDone := make(chan error, 1)
	go func() {
		typ, msg, err := sc.ReadMessage()
		if err == nil && (typ != BinaryMessage || string(msg) != "last words") {
			err = errors.New("wrong message: " + string(msg))
		}
		if err == nil {
			_, _, err = sc.ReadMessage()
		}
		readerDone <- err
	}()
	require.NoError(t, client.Close())
	err = <-readerDone
	assert.Equal(t, StatusNormalClosure, CloseStatus(err), "the last Write goes out before the close frame")
	<-sc.Done()
	ev := sc.CloseEvent()
	assert.Equal(t, StatusNormalClosure, ev.Code)
	assert.True(t, ev.WasClean)
	assert.Equal(t, SidePeer, ev.Initiator)
	assert.True(t, cc.CloseEvent().WasClean)

	require.ErrorIs(t, client.Close(), net.ErrClosed)
	_, err = client.Read(make([]byte, 1))
	require.ErrorIs(t, err, net.ErrClosed)
	_, err = client.Write([]byte("x"))
	require.ErrorIs(t, err, net.ErrClosed)
}

// TestNetConnPeerClose: a peer's 1000 or 1001 is io.EOF; another code is
// an error that carries it.
func TestNetConnPeerClose(t *testing.T) {
	for _, tc := range []struct {
		code StatusCode
		eof  bool
	}{
		{StatusNormalClosure, true},
		{StatusGoingAway, true},
		{4001, false},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			client, _, _, sc := netConnPair(t)
			require.NoError(t, sc.WriteMessage(BinaryMessage, []byte("before")))
			closed := make(chan error, 1)
			go func() { closed <- sc.Close(tc.code, "bye") }()
			require.NoError(t, client.SetReadDeadline(time.Now().Add(wireTimeout)))
			got, err := io.ReadAll(client)
			assert.Equal(t, "before", string(got))
			if tc.eof {
				require.NoError(t, err, "io.ReadAll hides io.EOF")
			} else {
				require.Error(t, err)
				assert.Equal(t, tc.code, CloseStatus(err))
				var ce *CloseError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, "bye", ce.Reason)
			}
			require.NoError(t, <-closed)
			require.NoError(t, client.Close(), "Close after the peer's close")
		})
	}
}

// requireTimeout checks that err is the timeout net.Conn users expect.
func requireTimeout(t *testing.T, err error) {
	t.Helper()
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "%v: Timeout() is false", err)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	_, direct := err.(net.Error)
	require.True(t, direct, "%T is not itself a net.Error", err)
}

// TestNetConnReadDeadline: a passed read deadline times Read out, before
// and while it waits, and the connection goes on once it is moved.
func TestNetConnReadDeadline(t *testing.T) {
	client, server, cc, _ := netConnPair(t)
	require.NoError(t, client.SetReadDeadline(time.Now().Add(-time.Second)))
	n, err := client.Read(make([]byte, 10))
	assert.Equal(t, 0, n)
	requireTimeout(t, err)

	// A Read blocked in the reader goroutine's wait times out too.
	require.NoError(t, client.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, err = client.Read(make([]byte, 10))
	requireTimeout(t, err)

	// A Read blocked with no deadline is released by a deadline set from
	// another goroutine.
	require.NoError(t, client.SetReadDeadline(time.Time{}))
	blocked := make(chan error, 1)
	go func() {
		_, err := client.Read(make([]byte, 10))
		blocked <- err
	}()
	require.NoError(t, client.SetReadDeadline(time.Now().Add(-time.Second)))
	select {
	case err := <-blocked:
		requireTimeout(t, err)
	case <-time.After(wireTimeout):
		t.Fatal("Read did not return at the deadline")
	}

	// The connection is alive: the bytes sent now arrive.
	select {
	case <-cc.Done():
		t.Fatal("a read deadline ended the connection")
	default:
	}
	require.NoError(t, client.SetReadDeadline(time.Now().Add(wireTimeout)))
	_, err = server.Write([]byte("still here"))
	require.NoError(t, err)
	buf := make([]byte, 10)
	_, err = io.ReadFull(client, buf)
	require.NoError(t, err)
	assert.Equal(t, "still here", string(buf))
}

// TestNetConnWriteDeadline: a peer that does not read makes Write time
// out, the connection stays usable, and no byte is lost or repeated.
func TestNetConnWriteDeadline(t *testing.T) {
	client, server, _, _ := netConnPair(t)
	require.NoError(t, client.SetWriteDeadline(time.Now().Add(-time.Second)))
	n, err := client.Write([]byte("x"))
	assert.Equal(t, 0, n)
	requireTimeout(t, err)

	var sent []byte
	block := noise(3, 64<<10)
	require.NoError(t, client.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
	for {
		n, err := client.Write(block)
		sent = append(sent, block[:n]...)
		if err != nil {
			requireTimeout(t, err)
			assert.Zero(t, n%netConnChunk, "a Write hands over whole messages")
			break
		}
		require.Less(t, len(sent), 1<<30, "Write never timed out")
	}
	require.NoError(t, client.SetWriteDeadline(time.Time{}))
	_, err = client.Write([]byte("end"))
	require.NoError(t, err)
	sent = append(sent, "end"...)
	go func() { _ = client.Close() }()
	got := readAllWithin(t, server)
	require.Equal(t, len(sent), len(got))
	require.True(t, bytes.Equal(sent, got), "the bytes differ")
}

// TestNetConnArguments: bad arguments are errors.
func TestNetConnArguments(t *testing.T) {
	_, err := NetConn(nil, BinaryMessage)
	require.Error(t, err)
	cc, sc := dialPair(t, nil, nil)
	go func() { _, _, _ = sc.ReadMessage() }() // answers the close
	_, err = NetConn(cc, MessageType(3))
	require.Error(t, err)
	// A text stream refuses bytes that are not UTF-8, sending nothing.
	nc, err := NetConn(cc, TextMessage)
	require.NoError(t, err)
	_, err = nc.Write([]byte{0xff})
	require.ErrorIs(t, err, ErrInvalidUTF8)
	require.NoError(t, nc.Close())
}

// TestNetConnNettest runs x/net's conformance tests for net.Conn.
func TestNetConnNettest(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		cc, sc := dialPair(t, nil, nil)
		if c1, err = NetConn(cc, BinaryMessage); err != nil {
			return nil, nil, nil, err
		}
		if c2, err = NetConn(sc, BinaryMessage); err != nil {
			return nil, nil, nil, err
		}
		stop = func() {
			// A Close the test body started may still be in its
			// handshake (BasicIO does not wait for it): let it finish
			// rather than cut it short.
			closeBoth(c1, c2)
			for _, c := range []*Conn{cc, sc} {
				select {
				case <-c.Done():
				case <-time.After(wireTimeout):
				}
			}
			_ = cc.Terminate()
			_ = sc.Terminate()
		}
		return c1, c2, stop, nil
	})
}
