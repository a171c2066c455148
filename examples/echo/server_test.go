package main

import (
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSlowHeaderCut: a client that never finishes its request's head is
// cut off once headerTimeout passes, instead of holding a goroutine of
// the server for as long as it likes.
func TestSlowHeaderCut(t *testing.T) {
	defer func(d time.Duration) { headerTimeout = d }(headerTimeout)
	headerTimeout = 50 * time.Millisecond
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = newServer("", newHandler(slog.New(slog.DiscardHandler)))
	srv.Start()
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr")
	require.NoError(t, err)
	// Far longer than headerTimeout: reached only when the server waits on.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(conn)
	require.NoError(t, err, "the server closes the connection")
}
