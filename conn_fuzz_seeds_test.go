package websocket

import "bytes"

// The seeds of FuzzConnRead: frames a client sends, built with the
// masking frame builder of wire_test.go, and knobs that reach each way of
// reading and ending a connection.

// connReadSeed is one seed of FuzzConnRead: the peer's bytes and knobs.
type connReadSeed struct {
	wire    []byte
	comp    uint8  // a CompressionMode
	limit   uint16 // see decodeKnobs: 0 default, 1 none, 4n+2 a limit of n+1
	mode    uint8  // a readMode
	closeAt uint8
	flags   uint8
}

// seedLimit is the limit argument for a read limit of n bytes (1 to 4096).
func seedLimit(n int) uint16 { return uint16(n-1)<<2 | 2 }

// deflated compresses messages with the package's own compressor, one
// after the other with the context kept when ctx is set, and returns each
// message's payload with the tail stripped, as it goes on the wire.
func deflated(ctx bool, msgs ...string) [][]byte {
	var out bytes.Buffer
	fw := getFlateWriter(&out, maxWindowBits)
	defer putFlateWriter(fw, maxWindowBits)
	var payloads [][]byte
	for _, m := range msgs {
		out.Reset()
		if !ctx {
			fw.Reset(&out)
		}
		_, _ = fw.Write([]byte(m))
		_ = fw.Flush()
		payloads = append(payloads, bytes.Clone(bytes.TrimSuffix(out.Bytes(), deflateTail[:])))
	}
	return payloads
}

// deflatedFinal is m compressed as a whole deflate stream, its last block
// final (BFINAL=1), followed by extra.
func deflatedFinal(m, extra string) []byte {
	var out bytes.Buffer
	fw := getFlateWriter(&out, maxWindowBits)
	defer putFlateWriter(fw, maxWindowBits)
	_, _ = fw.Write([]byte(m))
	_ = fw.Close()
	return append(out.Bytes(), extra...)
}

func connReadSeeds() []connReadSeed {
	p := &peer{key: [4]byte{0x37, 0xfa, 0x21, 0x3d}} // frame builder only
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	closeOK := p.frame(fin|wClose, closeBody(StatusNormalClosure, "bye"))
	hello := p.frame(fin|wText, []byte("Hello"))
	one := deflated(false, "compressed hello, compressed hello, compressed hello")[0]
	ctx := deflated(true, "a message the next one refers to", "a message the next one refers to, again")
	const (
		off   = uint8(CompressionDisabled)
		noCtx = uint8(CompressionNoContextTakeover)
		ctxOn = uint8(CompressionContextTakeover)
	)
	seeds := []connReadSeed{
		// Messages and control frames, then the peer's close.
		{wire: cat(hello, closeOK)},
		{wire: cat(p.frame(fin|wBinary, []byte{0, 1, 2, 0xff}), p.frame(fin|wClose, nil))},
		{wire: cat(p.frame(wText, []byte("Hel")), p.frame(fin|wPing, []byte("between")),
			p.frame(fin|wCont, []byte("lo")), p.frame(fin|wPong, []byte("unasked")), closeOK)},
		{wire: cat(p.frame(wBinary, nil), p.frame(wCont, []byte("a")), p.frame(fin|wCont, nil), closeOK)},
		{wire: cat(hello, hello, hello), mode: uint8(modeCopy)},
		{wire: p.frame(fin|wBinary, bytes.Repeat([]byte("0123456789"), 700)), mode: uint8(modeSmallReads), flags: flagSmallBuffer},
		{wire: cat(hello, p.frame(fin|wClose, closeBody(4000, "\u20ac"))), mode: uint8(modeServe)},
		// Close frames the peer may not send.
		{wire: p.frame(fin|wClose, []byte{0x03})},
		{wire: p.frame(fin|wClose, closeBody(1005, ""))},
		{wire: p.frame(fin|wClose, closeBody(1000, "\xff"))},
		// Framing violations.
		{wire: []byte{fin | wText, 2, 'h', 'i'}},
		{wire: p.frame(fin|rsv2|wText, []byte("x"))},
		{wire: p.frame(fin|0xB, nil)},
		{wire: p.frame(wPing, []byte("fragmented"))},
		{wire: p.frame(fin|wCont, []byte("x"))},
		{wire: cat(p.frame(wText, []byte("a")), p.frame(fin|wText, []byte("b")))},
		{wire: []byte{fin | wBinary, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}},
		// UTF-8, whole and split across fragments.
		{wire: cat(p.frame(wText, []byte("\xe2\x82")), p.frame(fin|wCont, []byte("\xac")), closeOK)},
		{wire: cat(p.frame(wText, []byte("\xe2\x82")), p.frame(fin|wCont, []byte("\x28")))},
		{wire: cat(p.frame(wText, []byte("\xe2\x82")), p.frame(fin|wCont, nil))},
		{wire: p.frame(fin|wText, []byte("ok\xed\xa0\x80"))},
		// The read limit.
		{wire: cat(p.frame(fin|wBinary, make([]byte, 11)), closeOK), limit: seedLimit(10)},
		{wire: cat(p.frame(wBinary, make([]byte, 6)), p.frame(fin|wCont, make([]byte, 6))), limit: seedLimit(10), mode: uint8(modeCopy)},
		{wire: cat(p.frame(fin|wBinary, make([]byte, 10)), closeOK), limit: seedLimit(10)},
		{wire: p.frame(fin|wBinary, make([]byte, 5000)), limit: 1},
		// Compression.
		{wire: cat(p.frame(fin|rsv1|wText, one), closeOK), comp: noCtx},
		{wire: cat(p.frame(rsv1|wText, one[:3]), p.frame(fin|wPing, nil), p.frame(fin|wCont, one[3:]), closeOK), comp: noCtx, mode: uint8(modeSmallReads)},
		{wire: cat(p.frame(fin|rsv1|wText, ctx[0]), p.frame(fin|rsv1|wText, ctx[1]), closeOK), comp: ctxOn},
		{wire: cat(p.frame(fin|rsv1|wText, ctx[0]), hello, p.frame(fin|rsv1|wText, ctx[1])), comp: ctxOn, mode: uint8(modeServe)},
		{wire: cat(p.frame(fin|rsv1|wBinary, deflated(false, string(make([]byte, 8000)))[0])), comp: noCtx, limit: seedLimit(4096)},
		{wire: p.frame(fin|rsv1|wBinary, []byte{0xff, 0xff, 0xff}), comp: noCtx},
		{wire: p.frame(fin|rsv1|wText, deflated(false, "ok\xff")[0]), comp: ctxOn},
		{wire: cat(p.frame(wText, []byte("a")), p.frame(fin|rsv1|wCont, []byte("b"))), comp: noCtx},
		{wire: p.frame(fin|rsv1|wPing, nil), comp: noCtx},
		{wire: p.frame(fin|rsv1|wText, one), comp: off},
		// Bytes after the final deflate block, in the
		// same frame and in a later fragment: both fail with 1007.
		{wire: cat(p.frame(fin|rsv1|wText, deflatedFinal("final", "extra")), closeOK), comp: noCtx},
		{wire: cat(p.frame(rsv1|wText, deflatedFinal("final", "")), p.frame(fin|wCont, []byte("extra")), closeOK), comp: ctxOn},
		// The peer goes silent; Close or Terminate ends the connection.
		{wire: hello, flags: flagHang},
		{wire: cat(hello, p.frame(wText, []byte("cut"))), flags: flagHang | flagTerminate, mode: uint8(modeCopy)},
		{wire: p.frame(fin|wText, []byte("ok\xff")), flags: flagHang},
		{wire: hello, flags: flagHang, mode: uint8(modeServe)},
		// Close from another goroutine, after some messages.
		{wire: cat(hello, hello, hello, closeOK), closeAt: 2},
		{wire: cat(hello, hello, p.frame(fin|wClose, closeBody(fuzzCloseCode, "fuzz"))), closeAt: 1, mode: uint8(modeServe)},
		{wire: cat(hello, p.frame(wText, []byte("a")), p.frame(fin|wCont, []byte("b")), closeOK), closeAt: 2, flags: flagTerminate, mode: uint8(modeSmallReads)},
		{wire: cat(hello, hello, hello), closeAt: 3, flags: flagHang, mode: uint8(modeCopy)},
		// A compressed fragment that is both not UTF-8 and not deflate:
		// read in small pieces, the text fails first; read whole, the
		// inflate.
		{wire: []byte("A\x917\xfa!=7\xff!\xc7\xc8000000000000"), comp: noCtx, limit: seedLimit(11),
			mode: uint8(modeSmallReads), flags: 2<<flagChunkShift | flagSmallBuffer | flagTerminate},
		// A ping that Close's frame overtakes: its pong follows the close
		// frame.
		{wire: p.frame(fin|wPing, nil), comp: noCtx, mode: uint8(modeSmallReads), closeAt: 27, flags: flagSocket | flagHang | 1<<flagChunkShift},
		// Close, started when the peer's bytes are all sent, discards an
		// invalid text message before the reader comes: the next one is
		// delivered.
		{wire: []byte("\x81\x8500!.\x7f\x9fMQy\x81\x857\xfa!c\x7f\x9fMQX\x81\x85$\xfa!=\x7f"),
			mode: uint8(modeSmallReads), closeAt: 71, flags: flagSocket | flagHang},
		// Chunked reads.
		{wire: cat(hello, p.frame(fin|wBinary, make([]byte, 300)), p.frame(fin|rsv1|wText, one), closeOK), comp: noCtx, flags: 1<<flagChunkShift | flagSmallBuffer},
		{wire: cat(p.frame(fin|wPing, bytes.Repeat([]byte("p"), 125)), closeOK), flags: 3 << flagChunkShift},
		{wire: nil},
		// Over a socket pair: Serve through the poller.
		{wire: cat(hello, p.frame(fin|wPing, []byte("p")), p.frame(fin|rsv1|wText, one), closeOK), comp: noCtx, mode: uint8(modeServe), flags: flagSocket},
		{wire: cat(hello, hello, hello), closeAt: 2, mode: uint8(modeServe), flags: flagSocket | flagHang},
		{wire: cat(hello, p.frame(wText, []byte("cut"))), mode: uint8(modeServe), flags: flagSocket | flagHang | flagTerminate},
		{wire: cat(hello, []byte{fin | wText, 2, 'h', 'i'}), mode: uint8(modeServe), flags: flagSocket | 1<<flagChunkShift},
		{wire: cat(hello, hello, closeOK), closeAt: 1, flags: flagSocket | 4<<flagChunkShift},
	}
	return seeds
}
