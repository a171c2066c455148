package websocket

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// The body of a close frame (RFC 6455 section 5.5.1): what Close may put
// in it, and what a peer's may hold.

// maxCloseReason is the longest close reason: a control frame carries 125
// bytes, two of which are the code.
const maxCloseReason = maxControlPayload - 2

// checkCloseArgs refuses what may not go in a close frame.
func checkCloseArgs(code StatusCode, reason string) error {
	if !code.sendable() {
		return fmt.Errorf("websocket: close code %v may not be sent", code)
	}
	if len(reason) > maxCloseReason {
		return fmt.Errorf("websocket: close reason of %d bytes is longer than %d", len(reason), maxCloseReason)
	}
	if !utf8.ValidString(reason) {
		return fmt.Errorf("websocket: close reason: %w", ErrInvalidUTF8)
	}
	return nil
}

// parseClosePayload decodes a close frame's body (section 5.5.1): empty,
// or a code that may be on the wire followed by a UTF-8 reason.
func parseClosePayload(p []byte) (StatusCode, string, error) {
	switch {
	case len(p) == 0:
		return StatusNoStatusRcvd, "", nil
	case len(p) == 1:
		return 0, "", protocolErrorf(ErrProtocol, "close frame of 1 byte")
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !code.sendable() {
		return 0, "", protocolErrorf(ErrProtocol, "close code %d may not be sent", uint16(code))
	}
	if !validUTF8(p[2:]) {
		return 0, "", protocolErrorf(ErrInvalidUTF8, "close reason is not UTF-8")
	}
	return code, string(p[2:]), nil
}
