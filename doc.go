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
// # WebSockets over HTTP/2
//
// [Upgrader.Upgrade] also accepts an HTTP/2 extended CONNECT (RFC 8441),
// which browsers send when their HTTP/2 connection to the origin allows
// it, so that a page's requests and its WebSockets share one TCP
// connection. Go's net/http serves extended CONNECT only when the server
// process starts with GODEBUG=http2xconnect=1 in its environment, over
// TLS with h2 or over unencrypted HTTP/2 ([http.Protocols]).
//
// The Conn then runs on the request's stream, which net/http ends when
// the handler returns: over HTTP/2 the handler must wait for [Conn.Done]
// before it returns (harmless over HTTP/1.1). The close maps onto the
// stream and never onto the TCP connection it shares: after the closing
// handshake the server's END_STREAM ends the stream in order when the
// handler returns; [Conn.Terminate] resets the stream (RST_STREAM). Such
// a connection has no socket of its own: [Conn.Serve] runs a goroutine
// for it, and a read waits holding its buffer.
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
