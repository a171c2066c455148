package main

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// The load generator's permessage-deflate (RFC 7692), with compress/flate
// at flate.BestSpeed, the level every compared server uses. What it does
// per message depends only on the negotiated mode, never on the server:
// it compresses each message it sends in one frame, and inflates every
// compressed message it receives.

// compression is what a client offers.
type compression int

const (
	compressNone compression = iota
	// compressNoContext offers permessage-deflate with no context
	// takeover on either side, and requires the server to agree.
	compressNoContext
	// compressContext offers permessage-deflate with context takeover on
	// both sides (no flags), and requires the server to keep it so.
	compressContext
)

// rsv1 marks a compressed message's first frame.
const rsv1 = 0x40

// header is the Sec-WebSocket-Extensions value of the offer. Like
// browsers, the client offers client_max_window_bits: it can inflate any
// window, and declines (fails the handshake) a server that would limit its
// own, which compress/flate cannot do.
func (m compression) header() string {
	switch m {
	case compressNoContext:
		return "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"
	case compressContext:
		return "permessage-deflate; client_max_window_bits"
	}
	return ""
}

// deflateAnswer is a parsed permessage-deflate response.
type deflateAnswer struct {
	serverNoContext, clientNoContext bool
}

// accept checks the server's Sec-WebSocket-Extensions against the offer
// (RFC 7692 section 7.1: a response names one accepted extension and only
// parameters the client may accept) and returns the connection's deflate
// state, nil when nothing was negotiated.
func (m compression) accept(values []string) (*clientDeflate, error) {
	var exts []string
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				exts = append(exts, e)
			}
		}
	}
	if len(exts) == 0 {
		if m != compressNone {
			return nil, errors.New("the server declined permessage-deflate")
		}
		return nil, nil
	}
	if m == compressNone || len(exts) > 1 {
		return nil, fmt.Errorf("unrequested extensions %q", exts)
	}
	a, err := parseDeflateAnswer(exts[0])
	if err != nil {
		return nil, err
	}
	// The cell measures one mode: the answer must be that mode.
	want := deflateAnswer{serverNoContext: m == compressNoContext, clientNoContext: m == compressNoContext}
	if a != want {
		return nil, fmt.Errorf("permessage-deflate answer %q does not match the offer %q", exts[0], m.header())
	}
	return &clientDeflate{writeContext: !a.clientNoContext, readContext: !a.serverNoContext}, nil
}

// parseDeflateAnswer parses one extension of a response.
func parseDeflateAnswer(ext string) (deflateAnswer, error) {
	var a deflateAnswer
	parts := strings.Split(ext, ";")
	if strings.TrimSpace(parts[0]) != "permessage-deflate" {
		return a, fmt.Errorf("unrequested extension %q", ext)
	}
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		name, value, hasValue := strings.Cut(strings.TrimSpace(p), "=")
		name, value = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)
		if seen[name] {
			return a, fmt.Errorf("parameter %s twice in %q", name, ext)
		}
		seen[name] = true
		bits, err := strconv.Atoi(value)
		switch {
		case name == "server_no_context_takeover" && !hasValue:
			a.serverNoContext = true
		case name == "client_no_context_takeover" && !hasValue:
			a.clientNoContext = true
		case name == "server_max_window_bits" && hasValue && err == nil && bits >= 8 && bits <= 15:
			// The server's window is at most ours: inflating takes any.
		case name == "client_max_window_bits" && hasValue && err == nil && bits == 15:
			// compress/flate always uses the whole 32 KiB window: only 15
			// can be honoured.
		default:
			return a, fmt.Errorf("cannot accept parameter %q of %q", p, ext)
		}
	}
	return a, nil
}

// clientDeflate is one connection's permessage-deflate.
type clientDeflate struct {
	writeContext bool // client context takeover: fw persists across messages
	readContext  bool // server context takeover: window is the next dictionary

	fw     *flate.Writer // kept under writeContext, else pooled per message
	out    sliceWriter   // compressed output of the message being sent
	window []byte        // the last 32 KiB inflated, under readContext
	plain  []byte        // the message inflated
	src    bytes.Reader
}

// readTail is appended to a received message before inflating: the sync
// flush's tail that the sender stripped, then an empty final stored block,
// so that the decompressor ends with io.EOF.
var readTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

const windowSize = 32 << 10

var (
	clientWriters sync.Pool // *flate.Writer at BestSpeed
	clientReaders sync.Pool // io.ReadCloser that is a flate.Resetter
)

// compress returns payload deflated, ending with a sync flush whose tail is
// stripped (RFC 7692 section 7.2.1). The slice is valid until the next call.
func (d *clientDeflate) compress(payload []byte) []byte {
	d.out.b = d.out.b[:0]
	fw := d.fw
	if fw == nil {
		if w, ok := clientWriters.Get().(*flate.Writer); ok {
			fw = w
			fw.Reset(&d.out)
		} else {
			fw, _ = flate.NewWriter(&d.out, flate.BestSpeed)
		}
		if d.writeContext {
			d.fw = fw
		}
	}
	_, _ = fw.Write(payload) // writes to a slice: no error
	_ = fw.Flush()
	if !d.writeContext {
		clientWriters.Put(fw)
	}
	return bytes.TrimSuffix(d.out.b, readTail[:4])
}

// inflate decompresses a received message; msg must have room to grow.
// The slice is valid until the next call.
func (d *clientDeflate) inflate(msg []byte) ([]byte, error) {
	d.src.Reset(append(msg, readTail...))
	var dict []byte
	if d.readContext {
		dict = d.window
	}
	fr, ok := clientReaders.Get().(io.ReadCloser)
	if ok {
		_ = fr.(flate.Resetter).Reset(&d.src, dict)
	} else {
		fr = flate.NewReaderDict(&d.src, dict)
	}
	defer clientReaders.Put(fr)
	d.plain = d.plain[:0]
	for {
		if len(d.plain) == cap(d.plain) {
			if len(d.plain) >= readLimit {
				return nil, fmt.Errorf("message inflates past %d bytes", readLimit)
			}
			d.plain = append(d.plain, 0)[:len(d.plain)]
		}
		n, err := fr.Read(d.plain[len(d.plain):cap(d.plain)])
		d.plain = d.plain[:len(d.plain)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("inflating a message: %w", err)
		}
	}
	if d.src.Len() != 0 {
		return nil, errors.New("compressed message has data past its final block")
	}
	if d.readContext {
		d.keepWindow(d.plain)
	}
	return d.plain, nil
}

// keepWindow keeps the last 32 KiB of what was inflated.
func (d *clientDeflate) keepWindow(p []byte) {
	if len(p) >= windowSize {
		d.window = append(d.window[:0], p[len(p)-windowSize:]...)
		return
	}
	if over := len(d.window) + len(p) - windowSize; over > 0 {
		d.window = append(d.window[:0], d.window[over:]...)
	}
	d.window = append(d.window, p...)
}
