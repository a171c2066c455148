package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
	"github.com/stretchr/testify/require"
)

// FuzzClientRead feeds a client Conn any bytes a server could send and
// checks what the client's read path makes of them: no panic, no hang, only
// valid messages delivered, an end that is always recorded, and nothing on
// the wire but masked pongs and at most one valid close frame. The Conn
// runs in memory over FuzzConnRead's fuzzStream, so an input costs
// microseconds.

// clientFuzzHangLimit bounds one input's run: reached only when a wait of
// the Conn is stuck, which fails the input.
const clientFuzzHangLimit = 10 * time.Second

// clientFuzzCloseCode is the code the target's Close sends.
const clientFuzzCloseCode StatusCode = 4123

// clientFuzzAnswers are the server's Sec-WebSocket-Extensions answers, by
// the CompressionMode the client offered.
var clientFuzzAnswers = [...]string{
	CompressionNoContextTakeover: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
	CompressionContextTakeover:   "permessage-deflate",
}

// clientFuzzKnobs are the target's settings, decoded from fuzzed values.
type clientFuzzKnobs struct {
	compression CompressionMode
	readLimit   int64 // as the Dialer's: 0 for the default
	copyMode    bool  // NextReader and io.Copy, not ReadMessage
	closeAt     int   // call Close once this many messages minus one were delivered; 0 never
}

func decodeClientFuzzKnobs(comp uint8, limit uint16, copyMode bool, closeAt uint8) clientFuzzKnobs {
	k := clientFuzzKnobs{
		compression: CompressionMode(comp % 3),
		copyMode:    copyMode,
		closeAt:     int(closeAt % 8),
	}
	if limit != 0 {
		k.readLimit = 1 + int64(limit%2048) // small, so that inputs reach it
	}
	return k
}

func (k clientFuzzKnobs) String() string {
	return fmt.Sprintf("{compression %d, limit %d, copy %v, closeAt %d}", k.compression, k.readLimit, k.copyMode, k.closeAt)
}

// config is the client Conn's configuration, made the way DialContext
// makes it, with the deflate parameters the client negotiates from the
// server's answer.
func (k clientFuzzKnobs) config(t *testing.T) connConfig {
	d := &Dialer{ReadLimit: k.readLimit, Compression: k.compression}
	var params *deflateParams
	if k.compression != CompressionDisabled {
		var err error
		params, err = acceptDeflate([]string{clientFuzzAnswers[k.compression]}, k.compression)
		require.NoError(t, err)
		require.NotNil(t, params)
	}
	return d.config("", params)
}

// clientFuzzMessage is a message as the application received it.
type clientFuzzMessage struct {
	typ  MessageType
	data []byte
}

// clientFuzzRun is what one run over an input gave.
type clientFuzzRun struct {
	msgs     []clientFuzzMessage // delivered whole
	partials []clientFuzzMessage // whose read failed partway
	err      error               // the reader's final error
	event    CloseEvent
	limit    int64
	out      []byte
	closed   bool // the target called Close
}

// runClientRead reads a client Conn whose server sends data, as k says.
func runClientRead(t *testing.T, data []byte, k clientFuzzKnobs) *clientFuzzRun {
	s := newFuzzStream(data, 0, false)
	cfg := k.config(t)
	c := newConn(s, cfg)
	run := &clientFuzzRun{limit: cfg.readLimit}

	closeDone := make(chan struct{})
	startClose := func() {
		run.closed = true
		go func() {
			defer close(closeDone)
			_ = c.Close(clientFuzzCloseCode, "fuzz")
		}()
	}
	if k.closeAt == 1 {
		startClose()
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			typ, b, err := clientFuzzReadOne(c, k.copyMode)
			if err != nil && b == nil {
				run.err = err
				return
			}
			if err != nil {
				run.partials = append(run.partials, clientFuzzMessage{typ, b})
				continue // the next read tells how the connection ended
			}
			run.msgs = append(run.msgs, clientFuzzMessage{typ, b})
			if k.closeAt > 1 && len(run.msgs) == k.closeAt-1 {
				startClose()
			}
		}
	}()

	deadline := time.NewTimer(clientFuzzHangLimit)
	defer deadline.Stop()
	wait := func(ch <-chan struct{}, what string) {
		select {
		case <-ch:
		case <-deadline.C:
			stacks := make([]byte, 1<<20)
			stacks = stacks[:runtime.Stack(stacks, true)]
			t.Fatalf("%v: %s within %v\n%s", k, what, clientFuzzHangLimit, stacks)
		}
	}
	wait(finished, "the reader did not finish")
	wait(c.Done(), "the reader finished, but Done is not closed")
	if run.closed {
		wait(closeDone, "Close did not return")
	}
	run.event = c.CloseEvent()
	run.out = s.recorded()
	_, _, again := c.ReadMessage()
	require.Equal(t, run.err, again, "%v: the final error is sticky", k)
	return run
}

// clientFuzzReadOne reads one message. A message whose reader failed
// partway comes back with what was read and the error.
func clientFuzzReadOne(c *Conn, copyMode bool) (MessageType, []byte, error) {
	if !copyMode {
		return c.ReadMessage()
	}
	typ, r, err := c.NextReader()
	if err != nil {
		return 0, nil, err
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, r)
	b := buf.Bytes()
	if b == nil {
		b = []byte{}
	}
	return typ, b, err
}

// clientFrames parses what the client wrote as the server would read it:
// every frame masked and well-formed, only pongs and close frames, and at
// most one close frame. Pongs may follow it: pings are answered until the
// server's close frame arrives (TestCloseWithoutReader). It returns the
// close frame's payload, or nil when none was sent.
func clientFrames(t *testing.T, k clientFuzzKnobs, out []byte) []byte {
	br := bufio.NewReader(bytes.NewReader(out))
	var closePayload []byte
	for {
		h, err := readHeader(br)
		if err == io.EOF {
			return closePayload
		}
		require.NoError(t, err, "%v: a frame header the client wrote", k)
		require.NoError(t, checkHeader(h, roleServer, 0), "%v: a frame the client wrote", k)
		payload := make([]byte, h.length)
		_, err = io.ReadFull(br, payload)
		require.NoError(t, err, "%v: the client wrote part of a frame", k)
		mask(h.maskKey, 0, payload)
		switch h.op {
		case opPong:
		case opClose:
			require.Nil(t, closePayload, "%v: a second close frame", k)
			// Empty, when it answers an empty one; otherwise a code that
			// may be sent and a UTF-8 reason.
			_, _, err := parseClosePayload(payload)
			require.NoError(t, err, "%v: the client's close frame", k)
			closePayload = payload
		default:
			t.Fatalf("%v: the client wrote a frame of opcode %#x; it only answers pings and closes", k, byte(h.op))
		}
	}
}

// checkClientRun checks the properties every run must have.
func checkClientRun(t *testing.T, k clientFuzzKnobs, data []byte, run *clientFuzzRun) {
	for i, m := range append(run.msgs, run.partials...) {
		if run.limit > 0 {
			require.LessOrEqual(t, int64(len(m.data)), run.limit, "%v: message %d is over the read limit", k, i)
		}
		if m.typ == TextMessage && i < len(run.msgs) {
			require.True(t, utf8.Valid(m.data), "%v: text message %d is not UTF-8", k, i)
		}
	}
	require.Error(t, run.err, "%v: the reader ended without an error", k)

	ev := run.event
	require.NotZero(t, ev.Code, "%v: CloseEvent not set", k)
	require.NotZero(t, ev.Initiator, "%v: CloseEvent has no initiator", k)
	require.Equal(t, ev.WasClean, ev.Err == nil, "%v: WasClean %v with Err %v", k, ev.WasClean, ev.Err)
	closePayload := clientFrames(t, k, run.out)
	if ev.WasClean {
		require.NotNil(t, closePayload, "%v: a clean end without our close frame", k)
	}

	// A first frame whose header breaks the rules for a server's, a masked
	// one among them, fails the connection with 1002 before anything else
	// happens, unless the target's Close came first.
	if k.closeAt == 1 {
		return
	}
	h, err := readHeader(bufio.NewReader(bytes.NewReader(data)))
	var allowed byte
	if k.compression != CompressionDisabled {
		allowed = rsv1
	}
	if err == nil {
		err = checkHeader(h, roleClient, allowed)
	}
	var pe *protocolError
	if errors.As(err, &pe) {
		require.ErrorIs(t, run.err, ErrProtocol, "%v: the reader's error for a first frame %v", k, pe)
		require.NotNil(t, closePayload, "%v: no close frame for a first frame %v", k, pe)
		require.GreaterOrEqual(t, len(closePayload), 2, "%v: an empty close frame for a first frame %v", k, pe)
		require.Equal(t, StatusProtocolError, StatusCode(binary.BigEndian.Uint16(closePayload)), "%v: the close code for a first frame %v", k, pe)
		require.Empty(t, run.msgs, k)
	}
}

// clientFuzzDeflate compresses msgs as a server does for permessage-deflate
// (RFC 7692 section 7.2.1): with context takeover one stream for all of
// them, else one each; every message flushed and stripped of the empty
// stored block's 00 00 ff ff.
func clientFuzzDeflate(takeover bool, msgs ...string) [][]byte {
	var out [][]byte
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	for _, m := range msgs {
		if !takeover {
			w.Reset(&buf)
		}
		_, _ = w.Write([]byte(m))
		_ = w.Flush()
		b := bytes.Clone(buf.Bytes())
		out = append(out, bytes.TrimSuffix(b, deflateTail[:]))
		buf.Reset()
	}
	return out
}

// clientFuzzWire joins frames into what the server sends.
func clientFuzzWire(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

func FuzzClientRead(f *testing.F) {
	frame := serverFrameBytes
	text := func(s string) []byte { return frame(fin|wText, []byte(s)) }
	closeFrame := func(code StatusCode, reason string) []byte { return frame(fin|wClose, closeBody(code, reason)) }
	masked := []byte{fin | wText, 0x80 | 5, 1, 2, 3, 4}
	masked = append(masked, []byte("hello")...)
	mask([4]byte{1, 2, 3, 4}, 0, masked[6:])
	noCtx := clientFuzzDeflate(false, "hello, hello, hello", "hello again")
	ctx := clientFuzzDeflate(true, "hello, hello, hello", "hello, hello, hello")
	big := clientFuzzDeflate(false, string(bytes.Repeat([]byte("a"), 5000)))[0]
	half := len(noCtx[0]) / 2

	seeds := []struct {
		data     []byte
		comp     uint8
		limit    uint16
		copyMode bool
		closeAt  uint8
	}{
		{data: clientFuzzWire(text("hello"), frame(fin|wBinary, []byte{0, 1, 0xff}), closeFrame(StatusNormalClosure, "bye"))},
		{data: clientFuzzWire(text("hello"), frame(fin|wBinary, []byte{0, 1, 0xff}), closeFrame(StatusNormalClosure, "bye")), copyMode: true},
		// Fragments, with a ping and a pong between them.
		{data: clientFuzzWire(frame(wText, []byte("hel")), frame(fin|wPing, []byte("p")), frame(wCont, []byte("l")),
			frame(fin|wPong, nil), frame(fin|wCont, []byte("o")), closeFrame(StatusGoingAway, ""))},
		{data: clientFuzzWire(text("x"), frame(fin|wClose, nil))},       // a close frame without a code
		{data: clientFuzzWire(text("x"), frame(fin|wClose, []byte{3}))}, // of one byte
		{data: clientFuzzWire(closeFrame(StatusNoStatusRcvd, ""))},      // a code that may not be sent
		{data: clientFuzzWire(closeFrame(4001, "\xff"))},                // a reason not UTF-8
		{data: masked},
		{data: clientFuzzWire(text("caf\xc3"), text("\xa9"))}, // a character split across messages
		{data: clientFuzzWire(frame(wText, []byte("caf\xc3")), frame(fin|wCont, []byte("\xa9")), closeFrame(StatusNormalClosure, ""))},
		{data: clientFuzzWire(text("0123456789"), text("ok")), limit: 8}, // over a limit of 9
		{data: clientFuzzWire(frame(wBinary, []byte("01234")), frame(fin|wCont, []byte("56789"))), limit: 8},
		{data: clientFuzzWire(frame(fin|rsv1|wText, noCtx[0]), frame(fin|rsv1|wText, noCtx[1]), closeFrame(StatusNormalClosure, "")), comp: 1},
		{data: clientFuzzWire(frame(fin|rsv1|wText, noCtx[0]), frame(fin|rsv1|wText, noCtx[1])), comp: 1, copyMode: true},
		{data: clientFuzzWire(frame(rsv1|wText, noCtx[0][:half]), frame(fin|wPing, nil), frame(fin|wCont, noCtx[0][half:])), comp: 1},
		{data: clientFuzzWire(frame(fin|rsv1|wText, ctx[0]), frame(fin|rsv1|wText, ctx[1]), closeFrame(StatusNormalClosure, "")), comp: 2},
		{data: clientFuzzWire(frame(fin|rsv1|wBinary, big)), comp: 1, limit: 4095},       // inflates past a limit of 4096
		{data: clientFuzzWire(frame(fin|rsv1|wText, noCtx[0])), comp: 0},                 // RSV1 not negotiated
		{data: clientFuzzWire(frame(fin|rsv1|wText, []byte{0xff, 0xff, 0xff})), comp: 1}, // not deflate
		// The target's Close at the start and after the first message.
		{data: clientFuzzWire(text("a"), text("b"), closeFrame(clientFuzzCloseCode, "fuzz")), closeAt: 1},
		{data: clientFuzzWire(text("a"), text("b"), closeFrame(clientFuzzCloseCode, "fuzz")), closeAt: 2, copyMode: true},
		{data: clientFuzzWire(text("a"), frame(fin|rsv1|wText, ctx[0])), comp: 2, closeAt: 2},
	}
	for _, s := range seeds {
		f.Add(s.data, s.comp, s.limit, s.copyMode, s.closeAt)
	}
	f.Fuzz(func(t *testing.T, data []byte, comp uint8, limit uint16, copyMode bool, closeAt uint8) {
		k := decodeClientFuzzKnobs(comp, limit, copyMode, closeAt)
		run := runClientRead(t, data, k)
		checkClientRun(t, k, data, run)
	})
}
