// Package websocket is an RFC 6455 WebSocket server and client whose
// connections end the way the RFC says they should.
//
// An [Upgrader] turns an HTTP request into a [Conn]; on the client side,
// [Dial] or a [Dialer] opens one to a ws:// or wss:// URL. A Conn reads messages
// with [Conn.ReadMessage] or [Conn.NextReader], or hands each to a
// function with [Conn.Serve], and writes them with
// [Conn.WriteMessage] or [Conn.NextWriter]; pings from the peer are
// answered on their own.
//
// # Ending a connection
//
// [Conn.Close] runs the closing handshake: it sends a close frame with a
// code and reason, keeps reading until the peer's close frame arrives (a
// reader still gets the messages sent before it), then closes TCP, server
// first: a client waits for the server to close it. The peer sees the
// code and reason, and a browser reports wasClean true. The wait is
// bounded by [Upgrader.CloseTimeout] or [Dialer.CloseTimeout].
//
// [Conn.Terminate] drops TCP at once, without a close frame, for a peer
// that misbehaves or stopped answering; the peer sees 1006.
//
// When the peer closes first, its close frame is answered with the same
// code and reason and TCP is closed, again server first; the reader gets a
// [*CloseError] with that code and reason. A peer that breaks the protocol gets the matching
// code (1002, 1007, 1009) before TCP is closed, and the reader an error
// wrapping [ErrProtocol], [ErrInvalidUTF8], [ErrMessageTooBig] or
// [ErrBadCompressedData]. However
// the connection ends, [Conn.Done] is closed and [Conn.CloseEvent] tells
// how, as a browser's CloseEvent does.
//
// # Concurrency
//
// One goroutine at a time may read; any number may write, and each message
// goes out whole. Close, Terminate, Ping, the deadline setters and the
// accessors are safe from any goroutine. A Conn has no goroutine of its
// own: its work runs in the calls of its user, and the heartbeat on a
// runtime timer. Conn.Serve reads in the background instead of the user:
// on Linux in goroutines that live only while there is something to read.
// Group.Shutdown runs the handshakes of a drain in a goroutine each, until
// they end.
package websocket
