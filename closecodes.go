package websocket

import "strconv"

// StatusCode is a WebSocket close status code (RFC 6455 section 7.4).
type StatusCode uint16

// The codes of the IANA "WebSocket Close Code Number Registry", 1000 to 1015.
// StatusNoStatusRcvd, StatusAbnormalClosure and StatusTLSHandshake only ever
// describe a connection locally: they never go on the wire.
const (
	// StatusNormalClosure: the purpose of the connection has been fulfilled.
	StatusNormalClosure StatusCode = 1000
	// StatusGoingAway: the endpoint is going away (a server shutting down,
	// a browser leaving the page).
	StatusGoingAway StatusCode = 1001
	// StatusProtocolError: the peer broke the protocol.
	StatusProtocolError StatusCode = 1002
	// StatusUnsupportedData: the endpoint got a type of data it cannot accept.
	StatusUnsupportedData StatusCode = 1003
	// StatusReserved is reserved by the RFC and has no meaning yet. Never
	// sent.
	StatusReserved StatusCode = 1004
	// StatusNoStatusRcvd: the peer's close frame carried no code. Never sent.
	StatusNoStatusRcvd StatusCode = 1005
	// StatusAbnormalClosure: the connection ended without a close frame
	// (TCP dropped, Terminate, a close timeout). Never sent.
	StatusAbnormalClosure StatusCode = 1006
	// StatusInvalidFramePayloadData: a message's data did not match its
	// type, such as a text message that is not UTF-8.
	StatusInvalidFramePayloadData StatusCode = 1007
	// StatusPolicyViolation: a message broke the endpoint's policy.
	StatusPolicyViolation StatusCode = 1008
	// StatusMessageTooBig: a message was larger than the endpoint accepts.
	StatusMessageTooBig StatusCode = 1009
	// StatusMandatoryExtension: the client needed an extension the server
	// did not negotiate.
	StatusMandatoryExtension StatusCode = 1010
	// StatusInternalError: the endpoint met an unexpected condition.
	StatusInternalError StatusCode = 1011
	// StatusServiceRestart: the server is restarting; reconnect later.
	StatusServiceRestart StatusCode = 1012
	// StatusTryAgainLater: the server is overloaded; reconnect later.
	StatusTryAgainLater StatusCode = 1013
	// StatusBadGateway: a gateway got an invalid response upstream.
	StatusBadGateway StatusCode = 1014
	// StatusTLSHandshake: the TLS handshake failed. Never sent.
	StatusTLSHandshake StatusCode = 1015
)

// statusNames holds the registry's names, indexed by code minus 1000.
var statusNames = [...]string{
	"normal closure",
	"going away",
	"protocol error",
	"unsupported data",
	"reserved",
	"no status received",
	"abnormal closure",
	"invalid frame payload data",
	"policy violation",
	"message too big",
	"mandatory extension",
	"internal error",
	"service restart",
	"try again later",
	"bad gateway",
	"TLS handshake",
}

// String returns the code and its registry name, such as "1001 (going
// away)"; codes outside the registry print as a number with their range.
func (c StatusCode) String() string {
	n := strconv.Itoa(int(c))
	switch {
	case c >= 1000 && c <= 1015:
		return n + " (" + statusNames[c-1000] + ")"
	case c >= 3000 && c <= 3999:
		return n + " (registered)"
	case c >= 4000 && c <= 4999:
		return n + " (private)"
	}
	return n
}

// sendable reports whether an endpoint may put c in a close frame
// (RFC 6455 section 7.4). The same rule decides which received codes are
// valid: a code that may not be sent is a protocol error when received.
func (c StatusCode) sendable() bool {
	switch {
	case c >= 1000 && c <= 1003:
		return true
	case c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	// 0-999 are unused, 1004 is reserved, 1005, 1006 and 1015 are local
	// only, 1016-2999 belong to future RFCs, and 5000+ are undefined.
	return false
}
