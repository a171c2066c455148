package websocket

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sendableRanges lists, apart from the code under test, the close codes
// RFC 6455 section 7.4 lets an endpoint put on the wire.
var sendableRanges = []struct{ lo, hi int }{
	{1000, 1003}, // normal closure, going away, protocol error, unsupported data
	{1007, 1014}, // invalid payload data through bad gateway
	{3000, 4999}, // registered with IANA, and private use
}

func TestStatusCodeSendableEveryCode(t *testing.T) {
	t.Parallel()
	count := 0
	for c := 0; c <= 65535; c++ {
		want := false
		for _, r := range sendableRanges {
			if c >= r.lo && c <= r.hi {
				want = true
			}
		}
		if want {
			count++
		}
		if got := StatusCode(c).sendable(); got != want {
			t.Errorf("StatusCode(%d).sendable() = %v, want %v", c, got, want)
		}
	}
	require.Equal(t, 4+8+2000, count, "the ranges of the test itself")
}

func TestStatusCodeSendableConstants(t *testing.T) {
	t.Parallel()
	never := map[StatusCode]bool{
		StatusReserved:        true,
		StatusNoStatusRcvd:    true,
		StatusAbnormalClosure: true,
		StatusTLSHandshake:    true,
	}
	for c := StatusNormalClosure; c <= StatusTLSHandshake; c++ {
		assert.Equal(t, !never[c], c.sendable(), "%v", c)
	}
}

func TestStatusCodeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code StatusCode
		want string
	}{
		{StatusNormalClosure, "1000 (normal closure)"},
		{StatusGoingAway, "1001 (going away)"},
		{StatusProtocolError, "1002 (protocol error)"},
		{StatusUnsupportedData, "1003 (unsupported data)"},
		{StatusReserved, "1004 (reserved)"},
		{StatusNoStatusRcvd, "1005 (no status received)"},
		{StatusAbnormalClosure, "1006 (abnormal closure)"},
		{StatusInvalidFramePayloadData, "1007 (invalid frame payload data)"},
		{StatusPolicyViolation, "1008 (policy violation)"},
		{StatusMessageTooBig, "1009 (message too big)"},
		{StatusMandatoryExtension, "1010 (mandatory extension)"},
		{StatusInternalError, "1011 (internal error)"},
		{StatusServiceRestart, "1012 (service restart)"},
		{StatusTryAgainLater, "1013 (try again later)"},
		{StatusBadGateway, "1014 (bad gateway)"},
		{StatusTLSHandshake, "1015 (TLS handshake)"},
		{3000, "3000 (registered)"},
		{3999, "3999 (registered)"},
		{4000, "4000 (private)"},
		{4999, "4999 (private)"},
		{5000, "5000"},
		{0, "0"},
		{999, "999"},
		{1016, "1016"},
		{2999, "2999"},
		{65535, "65535"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.code.String())
	}

	// Each registry code prints its number and a name in parentheses.
	for c := StatusCode(1000); c <= 1015; c++ {
		s := c.String()
		prefix := strconv.Itoa(int(c)) + " ("
		require.True(t, strings.HasPrefix(s, prefix), "%q", s)
		name := strings.TrimSuffix(strings.TrimPrefix(s, prefix), ")")
		require.True(t, strings.HasSuffix(s, ")"), "%q", s)
		require.NotEmpty(t, strings.TrimSpace(name), "%q", s)
		require.NotContains(t, name, strconv.Itoa(int(c)), "%q", s)
	}
	// String must not panic anywhere, and always starts with the number.
	for c := 0; c <= 65535; c++ {
		s := StatusCode(c).String()
		if !strings.HasPrefix(s, strconv.Itoa(c)) {
			t.Fatalf("StatusCode(%d).String() = %q", c, s)
		}
	}
}
