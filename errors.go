package websocket

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors the package returns wrap them with context, so
// test with errors.Is. Use after close is reported with net.ErrClosed.
var (
	// ErrProtocol: the peer broke RFC 6455; the connection was failed
	// with StatusProtocolError.
	ErrProtocol = errors.New("websocket: protocol violation by the peer")
	// ErrInvalidUTF8: a text message or close reason was not valid UTF-8.
	// From the peer it fails the connection with
	// StatusInvalidFramePayloadData; from the application it is refused.
	ErrInvalidUTF8 = errors.New("websocket: invalid UTF-8 in text")
	// ErrMessageTooBig: the peer's message exceeded the read limit; the
	// connection was failed with StatusMessageTooBig.
	ErrMessageTooBig = errors.New("websocket: message exceeds the read limit")
	// ErrBadCompressedData: a compressed message (permessage-deflate) did
	// not inflate, or had bytes after the end of its deflate stream; the
	// connection was failed with StatusInvalidFramePayloadData, the code
	// RFC 7692 section 8 names for it.
	ErrBadCompressedData = errors.New("websocket: invalid compressed data")
	// ErrCloseTimeout: the peer did not answer a close frame within the
	// close timeout; the connection was dropped.
	ErrCloseTimeout = errors.New("websocket: closing handshake timed out")
	// ErrTerminated: the connection was dropped by Terminate.
	ErrTerminated = errors.New("websocket: connection terminated")
	// ErrPongTimeout: the heartbeat's ping got no pong in time; the
	// connection was terminated.
	ErrPongTimeout = errors.New("websocket: no pong within the pong timeout")
	// ErrFrameTimeout: the peer began a frame and did not send the rest
	// of it within the frame timeout; the connection was terminated.
	ErrFrameTimeout = errors.New("websocket: frame not completed within the frame timeout")
	// ErrWriteTimeout: a write did not finish before its deadline; the
	// connection was terminated, since part of a frame may have gone out.
	ErrWriteTimeout = errors.New("websocket: write timed out")
	// ErrUnexpectedMessageType: a NetConn's stream met a message of the
	// other type than the one it carries; the connection was closed with
	// StatusUnsupportedData.
	ErrUnexpectedMessageType = errors.New("websocket: message of the wrong type for the net.Conn")
	// ErrShuttingDown: the Conn's Group is draining; no new connection is
	// accepted or dialled.
	ErrShuttingDown = errors.New("websocket: shutting down")
	// ErrBadHandshake: the opening handshake failed. On the server, an
	// upgrade request was refused and the client got an HTTP error
	// status. On the client, Dial refused the server's answer: a status
	// other than 101 (a redirect, an HTTP error) or a response that
	// breaks RFC 6455 section 4.1; Dial returns that response too.
	ErrBadHandshake = errors.New("websocket: bad handshake")
)

// CloseError is what reads return once the connection has ended: the code
// and reason of the peer's close frame, StatusNoStatusRcvd for a close frame
// without a code, or StatusAbnormalClosure when no close frame arrived (the
// peer dropped TCP, Terminate, a timeout). In that last case it wraps the
// cause, for errors.Is.
type CloseError struct {
	Code   StatusCode
	Reason string

	cause error
}

// Error describes the close, such as
// `websocket: closed: 1001 (going away) "bye"`.
func (e *CloseError) Error() string {
	s := "websocket: closed: " + e.Code.String()
	if e.Reason != "" {
		s += fmt.Sprintf(" %q", e.Reason)
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the cause of an abnormal closure, or nil.
func (e *CloseError) Unwrap() error { return e.cause }

// CloseStatus returns the code of the *CloseError in err's chain, or 0 when
// there is none (err is nil or is not about a closed connection).
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// protocolError is a violation of RFC 6455 by the peer, found by the codec
// or the read path. Its kind, one of the sentinels ErrProtocol,
// ErrInvalidUTF8, ErrMessageTooBig and ErrBadCompressedData, decides the
// close code the connection is failed with and the reason sent; the close
// state machine's fail is the one place that acts on it.
type protocolError struct {
	kind error
	msg  string
}

func protocolErrorf(kind error, format string, args ...any) *protocolError {
	return &protocolError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func (e *protocolError) Error() string {
	return e.kind.Error() + ": " + e.msg
}

// Unwrap returns the sentinel of the violation's kind.
func (e *protocolError) Unwrap() error { return e.kind }

// code is the close code the violation fails the connection with.
func (e *protocolError) code() StatusCode {
	switch e.kind {
	case ErrInvalidUTF8, ErrBadCompressedData:
		return StatusInvalidFramePayloadData
	case ErrMessageTooBig:
		return StatusMessageTooBig
	}
	return StatusProtocolError
}

// reason is the short fixed text sent in the close frame: internal detail
// stays out of the wire, and the text always fits in 123 bytes.
func (e *protocolError) reason() string {
	switch e.kind {
	case ErrInvalidUTF8:
		return "invalid UTF-8"
	case ErrBadCompressedData:
		return "invalid compressed data"
	case ErrMessageTooBig:
		return "message too big"
	}
	return "protocol error"
}
