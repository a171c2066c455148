package websocket

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answerClose plays a browser at the end of a connection: it reads the
// server's close frame, answers it with the same body and reads until the
// server closes TCP. It reports the code and reason it got.
func answerClose(p *peer) (StatusCode, string, error) {
	f, err := p.readFrame()
	if err != nil {
		return 0, "", err
	}
	if f.first != fin|wClose || len(f.payload) < 2 {
		return 0, "", fmt.Errorf("want a close frame, got %v", f)
	}
	if _, err := p.conn.Write(p.frame(fin|wClose, f.payload)); err != nil {
		return 0, "", err
	}
	if rest, err := io.ReadAll(p.br); err != nil || len(rest) > 0 {
		return 0, "", fmt.Errorf("want EOF after the close frame, got %q, %v", rest, err)
	}
	return StatusCode(binary.BigEndian.Uint16(f.payload)), string(f.payload[2:]), nil
}

// TestGroupShutdown drains many connections at once: every client hears
// 1001 and the reason, and every handshake completes.
func TestGroupShutdown(t *testing.T) {
	g := &Group{}
	srv, conns := startServer(t, &Upgrader{Group: g})
	const n = 40
	type result struct {
		code   StatusCode
		reason string
		err    error
	}
	results := make(chan result, n)
	for range n {
		p := dial(t, srv.Listener.Addr().String(), nil)
		c := <-conns
		readAll(c) // the application's reader, as a real server has
		go func() {
			code, reason, err := answerClose(p)
			results <- result{code, reason, err}
		}()
	}
	require.Equal(t, n, g.Len())
	res, err := g.Shutdown(context.Background(), 0, "deploying")
	require.NoError(t, err)
	assert.Equal(t, ShutdownResult{Clean: n}, res)
	for range n {
		r := <-results
		require.NoError(t, r.err)
		assert.Equal(t, StatusGoingAway, r.code)
		assert.Equal(t, "deploying", r.reason)
	}
	assert.Zero(t, g.Len(), "ended connections leave the group")
}

// TestGroupShutdownDeadline terminates the connections whose peer ignores
// the close frame when the context ends.
func TestGroupShutdownDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group{}
		deaf, c1 := pipeConn(t, &Upgrader{Group: g})
		polite, c2 := pipeConn(t, &Upgrader{Group: g})
		readAll(c1)
		readAll(c2)
		politeDone := make(chan error, 1)
		go func() {
			_, _, err := answerClose(polite)
			politeDone <- err
		}()
		deafDone := make(chan error, 1)
		go func() { // reads the close frame, never answers, sees the drop
			if _, err := deaf.readFrame(); err != nil {
				deafDone <- err
				return
			}
			_, err := io.ReadAll(deaf.br)
			deafDone <- err
		}()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		res, err := g.Shutdown(ctx, StatusServiceRestart, "")
		assert.Equal(t, time.Second, time.Since(start))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, ShutdownResult{Clean: 1, Terminated: 1}, res)
		require.NoError(t, <-politeDone)
		assert.ErrorIs(t, c1.CloseEvent().Err, ErrTerminated)
		assert.True(t, c2.CloseEvent().WasClean)
		require.NoError(t, <-deafDone)
	})
}

// TestGroupRefusesDuringDrain answers upgrades with 503 once the drain
// has begun.
func TestGroupRefusesDuringDrain(t *testing.T) {
	g := &Group{}
	upgradeErr := make(chan error, 1)
	u := &Upgrader{Group: g}
	srv := newRecordingServer(t, u, upgradeErr)
	res, err := g.Shutdown(context.Background(), 0, "")
	require.NoError(t, err)
	assert.Equal(t, ShutdownResult{}, res)

	conn, err := net.Dial("tcp", srv)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+srv+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: "+testKey+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.ErrorIs(t, <-upgradeErr, ErrShuttingDown)
}

// TestGroupShutdownBadArguments closes nothing for a code or reason that
// may not be sent.
func TestGroupShutdownBadArguments(t *testing.T) {
	g := &Group{}
	_, err := g.Shutdown(context.Background(), StatusAbnormalClosure, "")
	assert.Error(t, err)
	_, err = g.Shutdown(context.Background(), StatusGoingAway, strings.Repeat("x", 124))
	assert.Error(t, err)
	assert.False(t, g.isDraining(), "a refused Shutdown does not start the drain")
}

// newRecordingServer serves upgrades with u and reports each Upgrade error;
// it returns the server's address.
func newRecordingServer(t *testing.T, u *Upgrader, errs chan<- error) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			errs <- err
			return
		}
		_ = c.Terminate()
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
