package websocket

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// Close frame bodies are built with closeBody from wire_test.go.

// requireCloseParseError checks that err is a *protocolError with the given
// close code and the matching sentinel.
func requireCloseParseError(t *testing.T, err error, code StatusCode) {
	t.Helper()
	require.Error(t, err)
	var pe *protocolError
	require.True(t, errors.As(err, &pe), "error %v (%T) is not a *protocolError", err, err)
	require.Equal(t, code, pe.code(), "close code of %v", err)
	switch code {
	case StatusProtocolError:
		require.ErrorIs(t, err, ErrProtocol)
	case StatusInvalidFramePayloadData:
		require.ErrorIs(t, err, ErrInvalidUTF8)
	}
}

func TestParseClosePayloadTable(t *testing.T) {
	t.Parallel()
	longest := strings.Repeat("r", maxCloseReason)
	longestMultibyte := strings.Repeat("\u20ac", maxCloseReason/3) // 41 × 3 = 123 bytes
	require.Len(t, longestMultibyte, maxCloseReason)
	tests := []struct {
		name       string
		in         []byte
		wantCode   StatusCode
		wantReason string
		wantErr    StatusCode // the protocolError's code, or 0 for success
	}{
		{name: "empty", in: nil, wantCode: StatusNoStatusRcvd},
		{name: "empty non-nil", in: []byte{}, wantCode: StatusNoStatusRcvd},
		{name: "one byte", in: []byte{0x03}, wantErr: StatusProtocolError},
		{name: "one byte of 1000", in: []byte{0xE8}, wantErr: StatusProtocolError},
		{name: "1000 no reason", in: closeBody(1000, ""), wantCode: StatusNormalClosure},
		{name: "1001 bye", in: closeBody(1001, "bye"), wantCode: StatusGoingAway, wantReason: "bye"},
		{name: "1003", in: closeBody(1003, "x"), wantCode: StatusUnsupportedData, wantReason: "x"},
		{name: "1007", in: closeBody(1007, ""), wantCode: StatusInvalidFramePayloadData},
		{name: "1014", in: closeBody(1014, ""), wantCode: StatusBadGateway},
		{name: "3000", in: closeBody(3000, "registered"), wantCode: 3000, wantReason: "registered"},
		{name: "4999", in: closeBody(4999, "private"), wantCode: 4999, wantReason: "private"},
		{name: "multibyte reason", in: closeBody(1000, "au revoir \u20ac \U0001F44B"), wantCode: 1000, wantReason: "au revoir \u20ac \U0001F44B"},
		{name: "123-byte reason", in: closeBody(1000, longest), wantCode: 1000, wantReason: longest},
		{name: "123-byte multibyte reason", in: closeBody(4000, longestMultibyte), wantCode: 4000, wantReason: longestMultibyte},
		{name: "NUL in reason", in: closeBody(1000, "a\x00b"), wantCode: 1000, wantReason: "a\x00b"},

		{name: "code 0", in: closeBody(0, ""), wantErr: StatusProtocolError},
		{name: "code 999", in: closeBody(999, ""), wantErr: StatusProtocolError},
		{name: "code 1004", in: closeBody(1004, ""), wantErr: StatusProtocolError},
		{name: "code 1005 on the wire", in: closeBody(1005, ""), wantErr: StatusProtocolError},
		{name: "code 1006 on the wire", in: closeBody(1006, "x"), wantErr: StatusProtocolError},
		{name: "code 1015 on the wire", in: closeBody(1015, ""), wantErr: StatusProtocolError},
		{name: "code 1016", in: closeBody(1016, ""), wantErr: StatusProtocolError},
		{name: "code 2999", in: closeBody(2999, ""), wantErr: StatusProtocolError},
		{name: "code 5000", in: closeBody(5000, ""), wantErr: StatusProtocolError},
		{name: "code 65535", in: closeBody(65535, ""), wantErr: StatusProtocolError},

		{name: "reason invalid byte", in: closeBody(1000, "\xff"), wantErr: StatusInvalidFramePayloadData},
		{name: "reason surrogate", in: closeBody(1001, "a\xed\xa0\x80b"), wantErr: StatusInvalidFramePayloadData},
		{name: "reason cut character", in: closeBody(1000, "euro \xe2\x82"), wantErr: StatusInvalidFramePayloadData},
		{name: "reason overlong", in: closeBody(3000, "\xc0\xaf"), wantErr: StatusInvalidFramePayloadData},
		// The code is judged before the reason.
		{name: "bad code and bad reason", in: closeBody(1005, "\xff"), wantErr: StatusProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, reason, err := parseClosePayload(tt.in)
			if tt.wantErr != 0 {
				requireCloseParseError(t, err, tt.wantErr)
				require.Zero(t, code)
				require.Empty(t, reason)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantCode, code)
			require.Equal(t, tt.wantReason, reason)
		})
	}
}

// The reason is a copy: the payload buffer is reused for the next control
// frame, and must not change a reason already handed out.
func TestParseClosePayloadCopiesReason(t *testing.T) {
	t.Parallel()
	p := closeBody(1000, "bye")
	_, reason, err := parseClosePayload(p)
	require.NoError(t, err)
	copy(p[2:], "XXX")
	require.Equal(t, "bye", reason)
}

func FuzzParseClosePayload(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x03})
	f.Add(closeBody(1000, ""))
	f.Add(closeBody(1001, "going"))
	f.Add(closeBody(1005, ""))
	f.Add(closeBody(4999, "\u20ac"))
	f.Add(closeBody(1000, "\xed\xa0\x80"))
	f.Add(closeBody(3000, strings.Repeat("z", maxCloseReason)))

	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, err := parseClosePayload(p)

		if len(p) == 0 {
			require.NoError(t, err)
			require.Equal(t, StatusNoStatusRcvd, code)
			require.Empty(t, reason)
			return
		}
		if len(p) == 1 {
			requireCloseParseError(t, err, StatusProtocolError)
			return
		}
		wire := StatusCode(binary.BigEndian.Uint16(p))
		if !wire.sendable() {
			requireCloseParseError(t, err, StatusProtocolError)
			return
		}
		if !utf8.Valid(p[2:]) {
			requireCloseParseError(t, err, StatusInvalidFramePayloadData)
			return
		}

		require.NoError(t, err)
		require.Equal(t, wire, code)
		require.True(t, code.sendable(), "code %v", code)
		require.NotEqual(t, StatusNoStatusRcvd, code)
		require.Equal(t, string(p[2:]), reason)
		require.True(t, utf8.ValidString(reason))
		// A close frame is a control frame: its payload is at most 125
		// bytes, checked by checkHeader before this parser runs. Within
		// that bound the reason fits the 123-byte limit.
		if len(p) <= maxControlPayload {
			require.LessOrEqual(t, len(reason), maxCloseReason)
		}
	})
}
