package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzConnRead's checks: what a run may have written, a reference parser
// of the peer's bytes, and the properties every run must have.

// serverCloseFrame checks that out is a sequence of well-formed frames from
// a server that only reads, pongs and close frames, with only pongs after
// a close frame. It returns the close frame's code and reason, with ok false
// when there is none.
func serverCloseFrame(t *testing.T, k fuzzKnobs, out []byte) (code StatusCode, reason string, ok bool) {
	code, reason, _, ok = serverFrames(t, k, out)
	return code, reason, ok
}

// serverFrames is serverCloseFrame that also returns where the close frame
// starts in out (len(out) when there is none).
func serverFrames(t *testing.T, k fuzzKnobs, out []byte) (code StatusCode, reason string, at int, ok bool) {
	rd := bytes.NewReader(out)
	br := bufio.NewReader(rd)
	at = len(out)
	for {
		start := len(out) - rd.Len() - br.Buffered()
		h, err := readHeader(br)
		if err == io.EOF {
			return code, reason, at, ok
		}
		require.NoError(t, err, "%v: the server wrote a bad frame header: % x", k, out)
		require.NoError(t, checkHeader(h, roleClient, 0), "%v: the server wrote a bad frame: % x", k, out)
		require.Contains(t, []opcode{opPong, opClose}, h.op, "%v: the server wrote a frame it has no reason to: % x", k, out)
		// [RFC6455 5.5.1]: no data frame after a close frame; a pong
		// may still answer a ping read while the peer's close is awaited.
		require.False(t, ok && h.op == opClose, "%v: the server wrote two close frames: % x", k, out)
		payload := make([]byte, h.length)
		_, err = io.ReadFull(br, payload)
		require.NoError(t, err, "%v: the server wrote a truncated frame: % x", k, out)
		if h.op == opClose {
			code, reason, err = parseClosePayload(payload)
			require.NoError(t, err, "%v: the server wrote a bad close frame: % x", k, out)
			at, ok = start, true
		}
	}
}

// refParse reads wire as RFC 6455 says, without a Conn: it returns the
// messages a server that reads with limit must deliver, in order, and the
// payloads of the pings it must answer, up to the first violation, close
// frame or cut frame. With compression on, compressed messages are not
// inflated: only the pings count then.
//
// With skipText, a text message that is not UTF-8 is left out rather than
// ending the messages: Close discards frames without reading them as
// text, so the messages after such a one can still be delivered.
func refParse(wire []byte, limit int64, compression, skipText bool) (msgs []fuzzMessage, pings [][]byte) {
	var allowedRSV byte
	if compression {
		allowedRSV = rsv1
	}
	br := bufio.NewReader(bytes.NewReader(wire))
	var cur *fuzzMessage
	compressed := false
	for {
		h, err := readHeader(br)
		if err != nil || checkHeader(h, roleServer, allowedRSV) != nil || h.length > int64(len(wire)) {
			return msgs, pings
		}
		payload := make([]byte, h.length)
		if _, err := io.ReadFull(br, payload); err != nil {
			return msgs, pings
		}
		mask(h.maskKey, 0, payload)
		switch h.op {
		case opPing:
			pings = append(pings, payload)
			continue
		case opPong:
			continue
		case opClose:
			return msgs, pings
		case opContinuation:
			if cur == nil || h.rsv&rsv1 != 0 {
				return msgs, pings
			}
			cur.data = append(cur.data, payload...)
		default:
			if cur != nil {
				return msgs, pings
			}
			cur = &fuzzMessage{typ: MessageType(h.op), data: payload}
			compressed = h.rsv&rsv1 != 0
		}
		if !compressed && limit > 0 && int64(len(cur.data)) > limit {
			return msgs, pings
		}
		if !h.fin {
			continue
		}
		switch {
		case compressed:
		case cur.typ == TextMessage && !utf8.Valid(cur.data):
			if !skipText {
				return msgs, pings
			}
		default:
			msgs = append(msgs, *cur)
		}
		cur = nil
	}
}

// checkRef asserts what the reference parser says of a run of wire: the
// pongs answer the pings in order, and without compression the messages
// are the reference's, all of them when nothing but the input decides.
func checkRef(t *testing.T, k fuzzKnobs, wire []byte, run *fuzzRun) {
	compression := k.compression != CompressionDisabled
	refMsgs, refPings := refParse(wire, run.limit, compression, run.closed)

	var pongs [][]byte
	br := bufio.NewReader(bytes.NewReader(run.out))
	for {
		h, err := readHeader(br)
		if err != nil {
			break // serverFrames has checked the frames
		}
		payload := make([]byte, h.length)
		_, _ = io.ReadFull(br, payload)
		if h.op == opPong {
			pongs = append(pongs, payload)
		}
	}
	require.LessOrEqual(t, len(pongs), len(refPings), "%v: more pongs than pings", k)
	for i, p := range pongs {
		require.Equal(t, refPings[i], p, "%v: pong %d", k, i)
	}

	if compression {
		return
	}
	if k.undisturbed() {
		require.Equal(t, len(refMsgs), len(run.msgs), "%v: messages, compared to the reference", k)
	}
	// Close may discard messages, and with them some the reader would
	// have failed on: what is delivered is a subsequence.
	j := 0
	for i, m := range run.msgs {
		for j < len(refMsgs) && (refMsgs[j].typ != m.typ || !bytes.Equal(refMsgs[j].data, m.data)) {
			j++
		}
		require.Less(t, j, len(refMsgs), "%v: message %d is not the reference's: %v %q", k, i, m.typ, m.data)
		j++
	}
}

// checkRun asserts the properties every run must have.
func checkRun(t *testing.T, k fuzzKnobs, run *fuzzRun) {
	for i, m := range append(run.msgs, run.partials...) {
		require.Contains(t, []MessageType{TextMessage, BinaryMessage}, m.typ, "%v: message %d", k, i)
		if run.limit > 0 {
			require.LessOrEqual(t, int64(len(m.data)), run.limit, "%v: message %d is over the read limit", k, i)
		}
		if m.typ != TextMessage {
			continue
		}
		if i < len(run.msgs) {
			require.True(t, utf8.Valid(m.data), "%v: text message %d is not UTF-8: %q", k, i, m.data)
		} else {
			require.True(t, validUTF8Prefix(m.data), "%v: part of text message %d is not UTF-8: %q", k, i, m.data)
		}
	}

	ev := run.event
	require.NotZero(t, ev.Code, "%v: no CloseEvent", k)
	require.NotZero(t, ev.Initiator, "%v: CloseEvent without initiator: %+v", k, ev)
	require.Equal(t, ev.WasClean, ev.Err == nil, "%v: %+v", k, ev)
	peerClosed := ev.Code != StatusAbnormalClosure
	if k.mode == modeServe {
		require.Equal(t, ev, run.served, "%v: onEnd got another CloseEvent", k)
	}

	// The reader's final error.
	var pe *protocolError
	if k.mode != modeServe {
		var ce *CloseError
		switch {
		case errors.As(run.err, &ce):
			require.Equal(t, ev.Code, ce.Code, "%v: final error %v, event %+v", k, run.err, ev)
			require.Equal(t, ev.Reason, ce.Reason, "%v: final error %v, event %+v", k, run.err, ev)
		case errors.As(run.err, &pe):
			require.True(t, errors.Is(run.err, ErrProtocol) || errors.Is(run.err, ErrInvalidUTF8) ||
				errors.Is(run.err, ErrMessageTooBig) || errors.Is(run.err, ErrBadCompressedData), "%v: final error %v", k, run.err)
			require.ErrorIs(t, ev.Err, pe, "%v: event %+v", k, ev)
			require.False(t, peerClosed, "%v: event %+v", k, ev)
		default:
			t.Fatalf("%v: final error %v (%T) is neither a *CloseError nor a protocol violation", k, run.err, run.err)
		}
	} else if errors.As(ev.Err, &pe) {
		require.False(t, peerClosed, "%v: event %+v", k, ev)
	}

	code, reason, sent := serverCloseFrame(t, k, run.out)
	if ev.WasClean {
		require.True(t, sent && peerClosed, "%v: a clean end needs both close frames: %+v", k, ev)
	}
	if run.closed && run.closeErr == nil {
		require.True(t, ev.WasClean || k.terminate, "%v: Close returned nil for %+v", k, ev)
	}
	if !run.closed && !k.hang {
		// The input alone decided the end. (With a hanging peer, the
		// close timeout is so short that a busy machine can pass it
		// before our close frame goes out.)
		switch {
		case pe != nil:
			require.True(t, sent, "%v: no close frame for %v", k, pe)
			require.Equal(t, pe.code(), code, "%v: close frame for %v", k, pe)
			require.Equal(t, pe.reason(), reason, "%v: close frame for %v", k, pe)
			require.Equal(t, SideLocal, ev.Initiator, "%v: %+v", k, ev)
		case peerClosed:
			// [RFC6455 5.5.1]: the peer's close frame is echoed.
			require.True(t, sent, "%v: no echo of the peer's close: %+v", k, ev)
			require.Equal(t, ev.Code, code, "%v: echo of the peer's close: %+v", k, ev)
			require.Equal(t, ev.Reason, reason, "%v: echo of the peer's close: %+v", k, ev)
			require.Equal(t, SidePeer, ev.Initiator, "%v: %+v", k, ev)
			require.True(t, ev.WasClean, "%v: %+v", k, ev)
		default:
			require.False(t, sent, "%v: close frame %v %q without a reason", k, code, reason)
		}
	}
	if sent && code == fuzzCloseCode && !peerClosed {
		require.True(t, run.closed, "%v: close code %v that only Close sends", k, code)
	}
	if !k.hang {
		// Nothing blocks on a peer that hangs up: the close timer
		// never has to end the handshake.
		require.NotErrorIs(t, ev.Err, ErrCloseTimeout, "%v: %+v", k, ev)
	}
}
