package main

import (
	"bufio"
	"bytes"
	crand "crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// The load generator: a minimal RFC 6455 client written for this bench and
// shared by every run, so the client's cost is the same whichever server
// answers. It speaks only what the bench needs: the opening handshake
// (section 4.1), masked data and close frames out (section 5.3, a fresh
// mask key per frame), and unmasked frames in, with fragments reassembled
// and pings answered; and, when asked, permessage-deflate (RFC 7692, see
// deflate.go).

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// wsClient is one client connection.
type wsClient struct {
	nc    net.Conn
	br    *bufio.Reader
	wbuf  []byte // the frame being written: header, then masked payload
	msg   []byte // the message being read, reassembled from its frames
	msgOp byte   // the opcode of the last message read
	ctrl  []byte // a control frame's payload
	hdr   []byte // a frame header being read: a slice of the client's own, so that no read allocates
	rng   *rand.ChaCha8

	offer   compression    // what the handshake offered
	deflate *clientDeflate // nil unless permessage-deflate was negotiated

	// Bytes on the wire, frame headers included: written (masked frames
	// out) and read (frames in). One goroutine uses a client at a time.
	sent, recv int64
}

// dialWS connects from local (nil: any loopback address) to addr and runs
// the opening handshake, offering no extension. readBuf sizes the receive
// buffer.
func dialWS(addr string, local net.IP, readBuf int, timeout time.Duration) (*wsClient, error) {
	return dialWSDeflate(addr, local, readBuf, timeout, compressNone)
}

// dialWSDeflate is dialWS offering permessage-deflate in the given mode;
// the handshake fails unless the server accepts it in that mode.
func dialWSDeflate(addr string, local net.IP, readBuf int, timeout time.Duration, offer compression) (*wsClient, error) {
	d := net.Dialer{Timeout: timeout}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := newWSClient(nc, readBuf, offer)
	_ = nc.SetDeadline(time.Now().Add(timeout))
	if err := c.handshake(addr); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// newWSClient is a client over nc, whose opening handshake is done or to
// be done, offering compression in offer.
func newWSClient(nc net.Conn, readBuf int, offer compression) *wsClient {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return &wsClient{
		nc:    nc,
		br:    bufio.NewReaderSize(nc, readBuf),
		ctrl:  make([]byte, 125),
		hdr:   make([]byte, 8),
		rng:   rand.NewChaCha8(seed),
		offer: offer,
	}
}

// handshake sends the upgrade request and checks the 101 response
// (RFC 6455 section 4.1, the client's requirements on the response).
func (c *wsClient) handshake(host string) error {
	var k [16]byte
	_, _ = crand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
	if ext := c.offer.header(); ext != "" {
		req += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(c.nc, req); err != nil {
		return err
	}
	status, err := c.br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		return fmt.Errorf("handshake: status %q", strings.TrimSpace(status))
	}
	hdr := http.Header{}
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("handshake: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Errorf("handshake: bad header line %q", line)
		}
		hdr.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	switch {
	case !strings.EqualFold(hdr.Get("Upgrade"), "websocket"):
		return fmt.Errorf("handshake: Upgrade %q", hdr.Get("Upgrade"))
	case !strings.Contains(strings.ToLower(hdr.Get("Connection")), "upgrade"):
		return fmt.Errorf("handshake: Connection %q", hdr.Get("Connection"))
	case hdr.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]):
		return fmt.Errorf("handshake: wrong Sec-WebSocket-Accept")
	}
	d, err := c.offer.accept(hdr.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	c.deflate = d
	return nil
}

// writeMessage sends payload as one message in one frame, compressed when
// permessage-deflate was negotiated.
func (c *wsClient) writeMessage(op byte, payload []byte) error {
	if c.deflate == nil {
		return c.writeFrame(op, payload)
	}
	return c.writeFrameRSV(op, rsv1, c.deflate.compress(payload))
}

// writeFrame writes one final frame, masked with a fresh key, in one
// write.
func (c *wsClient) writeFrame(op byte, payload []byte) error {
	return c.writeFrameRSV(op, 0, payload)
}

// writeFrameRSV is writeFrame with the given RSV bits.
func (c *wsClient) writeFrameRSV(op, rsv byte, payload []byte) error {
	n := len(payload)
	hl := 2
	switch {
	case n > 65535:
		hl += 8
	case n > 125:
		hl += 2
	}
	need := hl + 4 + n
	if cap(c.wbuf) < need {
		c.wbuf = make([]byte, need)
	}
	b := c.wbuf[:need]
	b[0] = 0x80 | rsv | op
	switch {
	case n > 65535:
		b[1] = 0x80 | 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	case n > 125:
		b[1] = 0x80 | 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b[1] = 0x80 | byte(n)
	}
	key := uint32(c.rng.Uint64())
	binary.LittleEndian.PutUint32(b[hl:], key)
	maskCopy(b[hl+4:], payload, key)
	n, err := c.nc.Write(b)
	c.sent += int64(n)
	return err
}

// maskCopy writes src masked with key (RFC 6455 section 5.3) into dst,
// eight bytes at a time.
func maskCopy(dst, src []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	i := 0
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k8)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] ^ byte(key>>(8*(i&3)))
	}
}

// errServerClose is readMessage's error for a close frame from the server;
// closePayload holds its payload.
var errServerClose = errors.New("close frame from the server")

// readFrameHeader reads a server frame's header: unmasked, as section 5.1
// requires. RSV1 is allowed once permessage-deflate was negotiated;
// readMessage checks where it stands.
func (c *wsClient) readFrameHeader() (fin bool, op, rsv byte, n int64, err error) {
	h := c.hdr[:2]
	if _, err = io.ReadFull(c.br, h); err != nil {
		return
	}
	c.recv += 2
	rsv = h[0] & 0x70
	if allowed := c.allowedRSV(); rsv&^allowed != 0 {
		return false, 0, 0, 0, fmt.Errorf("frame with RSV bits %#x", rsv)
	}
	if h[1]&0x80 != 0 {
		return false, 0, 0, 0, errors.New("masked frame from the server")
	}
	fin, op, n = h[0]&0x80 != 0, h[0]&0x0F, int64(h[1]&0x7F)
	ext := c.hdr[:8]
	switch n {
	case 126:
		if _, err = io.ReadFull(c.br, ext[:2]); err != nil {
			return
		}
		c.recv += 2
		n = int64(binary.BigEndian.Uint16(ext[:2]))
	case 127:
		if _, err = io.ReadFull(c.br, ext); err != nil {
			return
		}
		c.recv += 8
		n = int64(binary.BigEndian.Uint64(ext))
		if n < 0 || n > readLimit {
			return false, 0, 0, 0, fmt.Errorf("frame of %d bytes", n)
		}
	}
	return fin, op, rsv, n, nil
}

// allowedRSV is the RSV bits a frame may carry: RSV1 under
// permessage-deflate.
func (c *wsClient) allowedRSV() byte {
	if c.deflate != nil {
		return rsv1
	}
	return 0
}

// readMessage reads the next data message, reassembling its fragments,
// inflating it when it is compressed, and answering pings on the way. The
// slice is valid until the next call; msgOp holds the message's opcode. A
// close frame returns errServerClose with its payload.
func (c *wsClient) readMessage() (payload []byte, err error) {
	c.msg = c.msg[:0]
	inMessage, compressed := false, false
	for {
		fin, op, rsv, n, err := c.readFrameHeader()
		if err != nil {
			return nil, err
		}
		if op >= opClose {
			if n > 125 || !fin || rsv != 0 {
				return nil, fmt.Errorf("bad control frame (op %d, %d bytes, fin %v, rsv %#x)", op, n, fin, rsv)
			}
			p := c.ctrl[:n]
			if _, err := io.ReadFull(c.br, p); err != nil {
				return nil, err
			}
			c.recv += n
			switch op {
			case opClose:
				return p, errServerClose
			case opPing:
				if err := c.writeFrame(opPong, p); err != nil {
					return nil, err
				}
			}
			continue
		}
		if (op == opContinuation) != inMessage {
			return nil, fmt.Errorf("unexpected opcode %d", op)
		}
		if op != opContinuation {
			c.msgOp = op
			compressed = rsv&rsv1 != 0
		} else if rsv != 0 {
			// [RFC7692 6.1]: RSV1 marks only a message's first frame.
			return nil, fmt.Errorf("continuation frame with RSV bits %#x", rsv)
		}
		inMessage = true
		if int64(len(c.msg))+n > readLimit {
			return nil, fmt.Errorf("message of over %d bytes", readLimit)
		}
		start := len(c.msg)
		if int64(cap(c.msg)-start) < n {
			// Room for the tail that inflating appends.
			grown := make([]byte, start, start+int(n)+len(readTail))
			copy(grown, c.msg)
			c.msg = grown
		}
		c.msg = c.msg[:start+int(n)]
		if _, err := io.ReadFull(c.br, c.msg[start:]); err != nil {
			return nil, err
		}
		c.recv += n
		if fin {
			if compressed {
				return c.deflate.inflate(c.msg)
			}
			return c.msg, nil
		}
	}
}

// roundTrip sends payload as one message with opcode op (compressed when
// that was negotiated) and checks the echo: same type, same bytes.
func (c *wsClient) roundTrip(op byte, payload []byte) error {
	if err := c.writeMessage(op, payload); err != nil {
		return err
	}
	got, err := c.readMessage()
	if err != nil {
		return err
	}
	if c.msgOp != op {
		return fmt.Errorf("echo of a message of opcode %d came back with opcode %d", op, c.msgOp)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("echo of %d bytes came back as %d different bytes", len(payload), len(got))
	}
	return nil
}

// closeOutcome is how a connection ended in the close storm.
type closeOutcome int

const (
	outClean        closeOutcome = iota // close frame, our echo, then EOF
	outNoCloseFrame                     // TCP ended before any close frame
	outReset                            // close frame answered, then a reset instead of EOF
	outTimeout                          // the server never finished
	outOther                            // any other error
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"clean", "no close frame", "reset", "timeout", "other"}

// answerClose waits for the server's close frame and answers it as a
// browser does: echo the close frame, wait for the server's FIN, then
// close. It reports how the connection ended and when.
func (c *wsClient) answerClose(deadline time.Time) (closeOutcome, time.Time) {
	defer c.nc.Close()
	_ = c.nc.SetReadDeadline(deadline)
	var closeBody []byte
	for {
		p, err := c.readMessage()
		if err == errServerClose {
			closeBody = p
			break
		}
		if err != nil {
			return classify(err, outNoCloseFrame), time.Now()
		}
		// A data message before the close frame: not expected, ignored.
	}
	if len(closeBody) > 2 {
		closeBody = closeBody[:2] // echo the status code, as browsers do
	}
	if err := c.writeFrame(opClose, closeBody); err != nil {
		return classify(err, outOther), time.Now()
	}
	var one [1]byte
	n, err := c.br.Read(one[:])
	end := time.Now()
	switch {
	case err == io.EOF && n == 0:
		return outClean, end
	case err == nil:
		return outOther, end // data after the close frame
	}
	return classify(err, outOther), end
}

// classify sorts a read error: a timeout, a reset, a plain EOF.
func classify(err error, eof closeOutcome) closeOutcome {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return outTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return outReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return eof
	}
	return outOther
}

// closeHandshake ends a connection from the client side: a close frame
// 1000, then the server's answer and its FIN, bounded by timeout.
func (c *wsClient) closeHandshake(timeout time.Duration) error {
	defer c.nc.Close()
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	if err := c.writeFrame(opClose, []byte{0x03, 0xE8}); err != nil {
		return err
	}
	for {
		_, err := c.readMessage()
		if err == errServerClose {
			break
		}
		if err != nil {
			return err
		}
	}
	var one [1]byte
	if _, err := c.br.Read(one[:]); err != io.EOF {
		return fmt.Errorf("after the close frames: %v, want EOF", err)
	}
	return nil
}
