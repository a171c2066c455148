//go:build !linux

package websocket

// poller exists on Linux only; elsewhere Serve runs a goroutine per
// connection.
type poller struct{}

func watch(*Conn, *serveState) bool      { return false }
func (*poller) rearm(*Conn, uint32) bool { return false }
func forget(*serveState)                 {}
