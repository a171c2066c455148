package websocket

// How a connection ended, told the way a browser's CloseEvent tells it.

// Side names an end of the connection.
type Side uint8

const (
	// SideLocal is this end: the application's Close or Terminate, a
	// violation the Conn detected, a timeout.
	SideLocal Side = iota + 1
	// SidePeer is the other end: its close frame came first, or it dropped
	// TCP.
	SidePeer
)

// String returns "local" or "peer".
func (s Side) String() string {
	switch s {
	case SideLocal:
		return "local"
	case SidePeer:
		return "peer"
	}
	return "none"
}

// CloseEvent tells how a connection ended, as a browser's CloseEvent does.
type CloseEvent struct {
	// Code is the code of the peer's close frame, StatusNoStatusRcvd when
	// that frame had none, or StatusAbnormalClosure when none arrived.
	Code StatusCode
	// Reason is the reason of the peer's close frame.
	Reason string
	// WasClean reports whether both close frames were exchanged and TCP
	// was closed in order after them: by a server at once; by a client
	// once the server closed it, or itself when the server had not within
	// the close timeout (RFC 6455 section 7.1.4 calls that clean too).
	WasClean bool
	// Initiator is the side that started the end.
	Initiator Side
	// Err says why the end was not clean: ErrCloseTimeout, ErrTerminated,
	// a protocol violation (ErrProtocol, ErrInvalidUTF8, ErrMessageTooBig,
	// ErrBadCompressedData) or an I/O error. It is nil when WasClean is
	// true.
	Err error
}

// Done returns a channel that is closed when the connection has ended:
// TCP is closed and the Conn holds no goroutine or timer.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseEvent tells how the connection ended. It is the zero CloseEvent
// until Done is closed; a read that returned the connection's final error
// finds Done closed. Safe from any goroutine.
func (c *Conn) CloseEvent() CloseEvent {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	return c.event
}
