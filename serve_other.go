//go:build !linux

package websocket

// poller exists on Linux only; elsewhere Serve runs a goroutine per
// connection.
type poller struct{}

type pollHandle struct{}

func watch(*Conn, *serveState) bool { return false }
func forget(*serveState)            {}
