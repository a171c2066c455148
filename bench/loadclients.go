package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	ours "github.com/a60656ec/websocket"
	coder "github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"
)

// The clients of the client comparison, one per library, each written the
// way its own docs recommend: the same closed-loop echo (send one binary
// message, wait for its echo, compare it byte for byte) against one
// server. "rfc" is the bench's own load generator (client.go), the
// reference.

// clientLibs are the clients a client comparison runs by default, ours
// first.
var clientLibs = []string{"ours", "ours-msg", "rfc", "gorilla", "gws", "coder"}

// clientVariants says what each client does, for -client-libs' help and
// the README.
var clientVariants = map[string]string{
	"ours":     "Dial; NextWriter, Write, Close; NextReader read into a buffer kept per connection",
	"ours-msg": "Dial; WriteMessage and ReadMessage",
	"ours-wm":  "Dial; WriteMessage (one frame); NextReader read into a buffer kept per connection (a variant, not in the default run)",
	"rfc":      "the bench's own RFC 6455 load generator (client.go)",
	"gorilla":  "Dialer; NextWriter, Write, Close; NextReader read into a buffer kept per connection",
	"gws":      "NewClient with the event API and ReadLoop; OnMessage checks the echo and sends the next message",
	"coder":    "Dial; Writer, Write, Close; Reader read into a buffer kept per connection",
}

func knownClient(lib string) bool { _, ok := clientVariants[lib]; return ok }

// isPeerClient reports whether lib is a peer library's client: not ours,
// not the reference.
func isPeerClient(lib string) bool { return !isOurs(lib) && lib != "rfc" }

// echoConn is one client connection of one library.
type echoConn interface {
	// run does round trips, the k-th sending next(k), from k0 on, until
	// stop is set (checked before each) or limit are done. It returns how
	// many it did.
	run(next func(int) []byte, k0, limit int, stop *atomic.Bool) (int, error)
	// close ends the connection the library's way.
	close()
}

// dialEcho connects lib's client to the echo server at addr, for messages
// of up to size bytes.
func dialEcho(ctx context.Context, lib, addr string, size int) (echoConn, error) {
	url := "ws://" + addr + "/"
	switch lib {
	case "rfc":
		c, err := dialWS(addr, nil, max(4096, size+16), ioTimeout)
		if err != nil {
			return nil, err
		}
		return &rfcEcho{c: c}, nil
	case "ours", "ours-msg", "ours-wm":
		c, _, err := ours.Dial(ctx, url, nil)
		if err != nil {
			return nil, err
		}
		c.SetReadLimit(readLimit)
		return &oursEcho{c: c, msg: lib == "ours-msg", wm: lib == "ours-wm", buf: make([]byte, size+1)}, nil
	case "gorilla":
		d := gorilla.Dialer{HandshakeTimeout: ioTimeout} // 4 KiB buffers
		c, _, err := d.DialContext(ctx, url, nil)
		if err != nil {
			return nil, err
		}
		c.SetReadLimit(readLimit)
		return &gorillaEcho{c: c, buf: make([]byte, size+1)}, nil
	case "coder":
		c, _, err := coder.Dial(ctx, url, nil)
		if err != nil {
			return nil, err
		}
		c.SetReadLimit(readLimit)
		return &coderEcho{c: c, buf: make([]byte, size+1)}, nil
	case "gws":
		e := &gwsEcho{}
		c, _, err := gws.NewClient(e, &gws.ClientOption{
			Addr:               url,
			ReadMaxPayloadSize: readLimit,
			HandshakeTimeout:   ioTimeout,
		})
		if err != nil {
			return nil, err
		}
		e.c = c
		go c.ReadLoop()
		return e, nil
	}
	return nil, fmt.Errorf("unknown client %q", lib)
}

var (
	errEchoType = errors.New("the echo came back as another message type")
	errEchoLong = errors.New("the echo is longer than the message")
)

// checkEcho compares an echo with the message sent; it allocates only to
// report a difference.
func checkEcho(sameType bool, got, want []byte) error {
	switch {
	case !sameType:
		return errEchoType
	case len(got) != len(want):
		return fmt.Errorf("echo of %d bytes came back with %d", len(want), len(got))
	case !bytes.Equal(got, want): // memequal; slices.Equal goes a byte at a time
		return fmt.Errorf("echo of %d bytes came back different", len(want))
	}
	return nil
}

// readInto reads a message whole into buf, which is one byte longer than
// the longest message expected.
func readInto(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, errEchoLong
}

// loop is run for the clients that block on each round trip.
func loop(roundTrip func([]byte) error, next func(int) []byte, k0, limit int, stop *atomic.Bool) (int, error) {
	n := 0
	for ; n < limit && !stop.Load(); n++ {
		if err := roundTrip(next(k0 + n)); err != nil {
			return n, err
		}
	}
	return n, nil
}

// rfcEcho is the reference: the load generator of the server comparison.
type rfcEcho struct{ c *wsClient }

func (e *rfcEcho) run(next func(int) []byte, k0, limit int, stop *atomic.Bool) (int, error) {
	return loop(func(p []byte) error { return e.c.roundTrip(opBinary, p) }, next, k0, limit, stop)
}

func (e *rfcEcho) close() { _ = e.c.closeHandshake(ioTimeout) }

// oursEcho streams each message (NextWriter, NextReader); with msg it
// uses WriteMessage and ReadMessage, with wm WriteMessage and NextReader.
type oursEcho struct {
	c       *ours.Conn
	msg, wm bool
	buf     []byte // the echo is read into it
}

func (e *oursEcho) roundTrip(p []byte) error {
	if e.msg {
		if err := e.c.WriteMessage(ours.BinaryMessage, p); err != nil {
			return err
		}
		typ, got, err := e.c.ReadMessage()
		if err != nil {
			return err
		}
		return checkEcho(typ == ours.BinaryMessage, got, p)
	}
	if err := e.write(p); err != nil {
		return err
	}
	typ, r, err := e.c.NextReader()
	if err != nil {
		return err
	}
	n, err := readInto(r, e.buf)
	if err != nil {
		return err
	}
	return checkEcho(typ == ours.BinaryMessage, e.buf[:n], p)
}

func (e *oursEcho) write(p []byte) error {
	if e.wm {
		return e.c.WriteMessage(ours.BinaryMessage, p)
	}
	w, err := e.c.NextWriter(ours.BinaryMessage)
	if err != nil {
		return err
	}
	_, err = w.Write(p)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

func (e *oursEcho) run(next func(int) []byte, k0, limit int, stop *atomic.Bool) (int, error) {
	return loop(e.roundTrip, next, k0, limit, stop)
}

func (e *oursEcho) close() { _ = e.c.Close(ours.StatusNormalClosure, "") }

// gorillaEcho is gorilla's streaming path, as the bench's gorilla server
// uses it.
type gorillaEcho struct {
	c   *gorilla.Conn
	buf []byte
}

func (e *gorillaEcho) roundTrip(p []byte) error {
	w, err := e.c.NextWriter(gorilla.BinaryMessage)
	if err != nil {
		return err
	}
	_, err = w.Write(p)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	typ, r, err := e.c.NextReader()
	if err != nil {
		return err
	}
	n, err := readInto(r, e.buf)
	if err != nil {
		return err
	}
	return checkEcho(typ == gorilla.BinaryMessage, e.buf[:n], p)
}

func (e *gorillaEcho) run(next func(int) []byte, k0, limit int, stop *atomic.Bool) (int, error) {
	return loop(e.roundTrip, next, k0, limit, stop)
}

// close sends a close frame and drops TCP: gorilla's Close does only the
// latter.
func (e *gorillaEcho) close() {
	msg := gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, "")
	_ = e.c.WriteMessage(gorilla.CloseMessage, msg)
	_ = e.c.Close()
}

// coderEcho is coder's streaming path: Writer and Reader.
type coderEcho struct {
	c   *coder.Conn
	buf []byte
}

func (e *coderEcho) roundTrip(p []byte) error {
	ctx := context.Background()
	w, err := e.c.Writer(ctx, coder.MessageBinary)
	if err != nil {
		return err
	}
	_, err = w.Write(p)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	typ, r, err := e.c.Reader(ctx)
	if err != nil {
		return err
	}
	n, err := readInto(r, e.buf)
	if err != nil {
		return err
	}
	return checkEcho(typ == coder.MessageBinary, e.buf[:n], p)
}

func (e *coderEcho) run(next func(int) []byte, k0, limit int, stop *atomic.Bool) (int, error) {
	return loop(e.roundTrip, next, k0, limit, stop)
}

func (e *coderEcho) close() { _ = e.c.CloseNow() }

// gwsEcho is gws's event API: ReadLoop runs in a goroutine of its own
// and OnMessage, on that goroutine, checks the echo and sends the next
// message, so that a round trip involves no other goroutine. run waits
// for the phase to end.
type gwsEcho struct {
	gws.BuiltinEventHandler
	c     *gws.Conn
	phase atomic.Pointer[gwsPhase]
}

// gwsPhase is one call of run; after run stores it, only the ReadLoop
// goroutine changes it, until it sends on done.
type gwsPhase struct {
	next  func(int) []byte
	k0, n int
	limit int
	stop  *atomic.Bool
	want  []byte // the message in flight
	done  chan error
}

func (ph *gwsPhase) finish(err error) {
	select {
	case ph.done <- err:
	default: // already finished
	}
}

func (e *gwsEcho) run(next func(int) []byte, k0, limit int, stop *atomic.Bool) (int, error) {
	if limit <= 0 || stop.Load() {
		return 0, nil
	}
	ph := &gwsPhase{next: next, k0: k0, limit: limit, stop: stop, done: make(chan error, 1)}
	ph.want = next(k0)
	e.phase.Store(ph)
	if err := e.c.WriteMessage(gws.OpcodeBinary, ph.want); err != nil {
		return 0, err
	}
	err := <-ph.done
	return ph.n, err
}

func (e *gwsEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	ph := e.phase.Load()
	if ph == nil {
		_ = m.Close()
		return
	}
	err := checkEcho(m.Opcode == gws.OpcodeBinary, m.Bytes(), ph.want)
	_ = m.Close() // hands the buffer back to gws's pool
	if err != nil {
		ph.finish(err)
		return
	}
	ph.n++
	if ph.n >= ph.limit || ph.stop.Load() {
		ph.finish(nil)
		return
	}
	ph.want = ph.next(ph.k0 + ph.n)
	if err := c.WriteMessage(gws.OpcodeBinary, ph.want); err != nil {
		ph.finish(err)
	}
}

func (e *gwsEcho) OnClose(c *gws.Conn, err error) {
	if ph := e.phase.Load(); ph != nil {
		ph.finish(fmt.Errorf("connection ended: %w", err))
	}
}

func (e *gwsEcho) close() { _ = e.c.WriteClose(1000, nil) }
