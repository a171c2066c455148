package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzConnRead feeds a server Conn any bytes a peer could send and checks
// what the read path makes of them: no panic, no hang, only valid messages
// delivered, an end that is always recorded, and a well-formed close frame
// on the wire. The Conn runs over fuzzStream, in memory, so that an input
// costs microseconds and never depends on the network.

// fuzzHangLimit bounds one input's run: reached only when a wait of the
// Conn is stuck, which fails the input.
const fuzzHangLimit = 20 * time.Second

// fuzzCloseCode is the code the fuzz target's Close sends.
const fuzzCloseCode StatusCode = 4321

// fuzzStream is the Conn's stream in FuzzConnRead: reads return the
// peer's bytes in chunks of at most chunk bytes (any size when zero), then
// io.EOF, or, when hang is set, block until Close as a silent peer's would;
// writes are recorded.
type fuzzStream struct {
	chunk   int
	hang    bool
	drained chan struct{} // closed when a hanging stream has given all its bytes
	closed  chan struct{} // closed by Close

	mu         sync.Mutex
	in         []byte // what the peer has still to send
	out        bytes.Buffer
	isClosed   bool
	writeShut  bool // CloseWrite or Close
	drainedSet bool
}

func newFuzzStream(in []byte, chunk int, hang bool) *fuzzStream {
	return &fuzzStream{
		chunk:   chunk,
		hang:    hang,
		in:      in,
		drained: make(chan struct{}),
		closed:  make(chan struct{}),
	}
}

func (s *fuzzStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return 0, net.ErrClosed
	}
	if len(s.in) == 0 {
		if !s.hang {
			s.mu.Unlock()
			return 0, io.EOF
		}
		if !s.drainedSet {
			s.drainedSet = true
			close(s.drained)
		}
		s.mu.Unlock()
		<-s.closed
		return 0, net.ErrClosed
	}
	if s.chunk > 0 && len(p) > s.chunk {
		p = p[:s.chunk]
	}
	n := copy(p, s.in)
	s.in = s.in[n:]
	s.mu.Unlock()
	return n, nil
}

func (s *fuzzStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writeShut {
		return 0, net.ErrClosed
	}
	return s.out.Write(p)
}

func (s *fuzzStream) CloseWrite() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeShut = true
	return nil
}

func (s *fuzzStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return net.ErrClosed
	}
	s.isClosed, s.writeShut = true, true
	close(s.closed)
	return nil
}

// fuzzPeer is the peer's end of FuzzConnRead's connection.
type fuzzPeer interface {
	// stream is the Conn's end.
	stream() stream
	// drainedChan is closed once a hanging peer has sent all its bytes.
	drainedChan() <-chan struct{}
	// written returns what the Conn wrote, once it has ended.
	written(t *testing.T, k fuzzKnobs, deadline <-chan time.Time) []byte
}

func (s *fuzzStream) stream() stream               { return s }
func (s *fuzzStream) drainedChan() <-chan struct{} { return s.drained }

func (s *fuzzStream) written(*testing.T, fuzzKnobs, <-chan time.Time) []byte { return s.recorded() }

// recorded is what the Conn has written so far.
func (s *fuzzStream) recorded() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.out.Bytes())
}

func (s *fuzzStream) SetReadDeadline(time.Time) error  { return nil }
func (s *fuzzStream) SetWriteDeadline(time.Time) error { return nil }
func (s *fuzzStream) LocalAddr() net.Addr              { return nil }
func (s *fuzzStream) RemoteAddr() net.Addr             { return nil }

// readMode is how FuzzConnRead reads the Conn.
type readMode uint8

const (
	modeReadMessage readMode = iota // ReadMessage in a loop
	modeCopy                        // NextReader and io.Copy
	modeSmallReads                  // NextReader and Reads of 1 to 7 bytes
	modeServe                       // Serve
	numReadModes
)

var readModeNames = [...]string{"ReadMessage", "NextReader+io.Copy", "NextReader+small reads", "Serve"}

func (m readMode) String() string { return readModeNames[m] }

// fuzzChunks are the sizes in which fuzzStream hands out the peer's bytes.
var fuzzChunks = [8]int{0, 1, 2, 3, 5, 8, 64, 200}

// fuzzKnobs are FuzzConnRead's settings, decoded from fuzzed bytes.
type fuzzKnobs struct {
	compression CompressionMode // the read side follows peerNoContext
	readLimit   int64           // as the Upgrader's: 0 default, -1 none
	mode        readMode
	closeAt     int // call Close once this many messages minus one were delivered; 0 never
	hang        bool
	terminate   bool // Terminate, not Close, where the target ends the connection
	smallBuffer bool // the smallest read buffer, 256 bytes
	chunk       int
	socket      bool // a Unix socket pair, not fuzzStream: Serve uses the poller
}

// fuzzFlags are the bits of FuzzConnRead's flags argument.
const (
	flagHang        = 1 << 0 // the peer goes silent at the end of its bytes, instead of EOF
	flagTerminate   = 1 << 1
	flagSmallBuffer = 1 << 2
	flagChunkShift  = 3 // bits 3 to 5: an index into fuzzChunks
	flagSocket      = 1 << 6
)

func decodeKnobs(comp uint8, limit uint16, mode, closeAt, flags uint8) fuzzKnobs {
	k := fuzzKnobs{
		compression: CompressionMode(comp % 3),
		mode:        readMode(mode % uint8(numReadModes)),
		closeAt:     int(closeAt),
		hang:        flags&flagHang != 0,
		terminate:   flags&flagTerminate != 0,
		smallBuffer: flags&flagSmallBuffer != 0,
		chunk:       fuzzChunks[flags>>flagChunkShift&7],
		socket:      flags&flagSocket != 0 && fuzzSockets,
	}
	switch limit % 4 {
	case 0:
		k.readLimit = 0 // the default
	case 1:
		k.readLimit = -1 // none
	default:
		k.readLimit = 1 + int64(limit>>2)%4096
	}
	return k
}

func (k fuzzKnobs) String() string {
	return fmt.Sprintf("{compression %d, limit %d, %v, closeAt %d, hang %v, terminate %v, small buffer %v, chunk %d, socket %v}",
		k.compression, k.readLimit, k.mode, k.closeAt, k.hang, k.terminate, k.smallBuffer, k.chunk, k.socket)
}

// config is the Conn's configuration. The close timeout ends a hanging
// peer's input fast; otherwise nothing should wait for it, so it is long.
func (k fuzzKnobs) config() connConfig {
	u := &Upgrader{ReadLimit: k.readLimit, CloseTimeout: 5 * time.Second}
	if k.hang {
		u.CloseTimeout = 5 * time.Millisecond
	}
	if k.smallBuffer {
		u.ReadBufferSize = minReadBufferSize
	}
	cfg := u.config("")
	switch k.compression {
	case CompressionNoContextTakeover:
		cfg.deflate = &deflateParams{localNoContext: true, peerNoContext: true}
	case CompressionContextTakeover:
		cfg.deflate = &deflateParams{}
	}
	return cfg
}

// undisturbed reports whether the input alone decides the outcome: no
// Close or Terminate from the target, and a peer that ends with EOF.
func (k fuzzKnobs) undisturbed() bool { return k.closeAt == 0 && !k.hang }

// fuzzMessage is a message as the application received it.
type fuzzMessage struct {
	typ  MessageType
	data []byte
}

// fuzzRun is what one run of the Conn over an input gave.
type fuzzRun struct {
	msgs     []fuzzMessage // whole messages, in order
	partials []fuzzMessage // messages whose read failed partway
	err      error         // the reader's final error; nil for Serve
	served   CloseEvent    // Serve's onEnd got it
	event    CloseEvent
	limit    int64 // the limit in force, 0 or less for none
	out      []byte
	closed   bool  // the target called Close or Terminate
	closeErr error // what that call returned
}

// runConnRead reads a server Conn whose peer sends data, as k says.
func runConnRead(t *testing.T, data []byte, k fuzzKnobs) *fuzzRun {
	var s fuzzPeer = newFuzzStream(data, k.chunk, k.hang)
	if k.socket {
		s = newSocketPeer(t, data, k.chunk, k.hang)
	}
	c := newConn(s.stream(), k.config())
	run := &fuzzRun{limit: c.readLimit.Load()}

	var closeDone chan struct{} // made by the first end
	var closeMu sync.Mutex
	end := func() {
		closeMu.Lock()
		defer closeMu.Unlock()
		if closeDone != nil {
			return
		}
		run.closed = true
		closeDone = make(chan struct{})
		go func() {
			defer close(closeDone)
			if k.terminate {
				run.closeErr = c.Terminate()
			} else {
				run.closeErr = c.Close(fuzzCloseCode, "fuzz")
			}
		}()
	}
	delivered := func(m fuzzMessage) {
		run.msgs = append(run.msgs, m)
		if k.closeAt > 0 && len(run.msgs) == k.closeAt-1 {
			end()
		}
	}
	if k.closeAt == 1 {
		end()
	}

	finished := make(chan struct{}) // the reader is done, or Serve's onEnd ran
	switch k.mode {
	case modeServe:
		onMessage := func(typ MessageType, r io.Reader) {
			b, err := io.ReadAll(r)
			if err != nil {
				run.partials = append(run.partials, fuzzMessage{typ, b})
				return
			}
			delivered(fuzzMessage{typ, b})
		}
		onEnd := func(ev CloseEvent) {
			run.served = ev
			close(finished)
		}
		require.NoError(t, c.Serve(onMessage, onEnd))
	default:
		go func() {
			defer close(finished)
			run.err = readLoop(c, k.mode, delivered, func(m fuzzMessage) {
				run.partials = append(run.partials, m)
			})
		}()
	}

	deadline := time.NewTimer(fuzzHangLimit)
	defer deadline.Stop()
	drained := s.drainedChan()
	for waiting := true; waiting; {
		select {
		case <-finished:
			waiting = false
		case <-drained:
			// The peer went silent: only the target can end the
			// connection now.
			drained = nil
			end()
		case <-deadline.C:
			failHang(t, k, "the reader did not finish")
		}
	}
	// A read that returned the final error finds Done closed
	// (CloseEvent's doc).
	select {
	case <-c.Done():
	default:
		t.Fatalf("%v: the reader finished, but Done is not closed", k)
	}
	closeMu.Lock()
	waitClose := closeDone
	closeMu.Unlock()
	if waitClose != nil {
		select {
		case <-waitClose:
		case <-deadline.C:
			failHang(t, k, "Close or Terminate did not return")
		}
	}
	run.event = c.CloseEvent()
	run.out = s.written(t, k, deadline.C)
	if k.mode != modeServe {
		// The final error is sticky.
		_, _, err := c.ReadMessage()
		require.Equal(t, run.err, err, "%v: a read after the end", k)
	}
	return run
}

// failHang fails an input whose run is stuck, with every goroutine's stack.
func failHang(t *testing.T, k fuzzKnobs, what string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Fatalf("%v: %s within %v\n%s", k, what, fuzzHangLimit, buf)
}

// readLoop reads c as mode says until a read method fails, and returns its
// error.
func readLoop(c *Conn, mode readMode, delivered, partial func(fuzzMessage)) error {
	for {
		if mode == modeReadMessage {
			typ, b, err := c.ReadMessage()
			if err != nil {
				return err
			}
			delivered(fuzzMessage{typ, b})
			continue
		}
		typ, r, err := c.NextReader()
		if err != nil {
			return err
		}
		var b []byte
		if mode == modeCopy {
			var buf bytes.Buffer
			_, err = io.Copy(&buf, r)
			b = buf.Bytes()
		} else {
			b, err = readSmall(r)
		}
		if err != nil {
			// The next NextReader tells how the connection ended, or
			// gives the next message when Close discarded this one.
			partial(fuzzMessage{typ, b})
			continue
		}
		delivered(fuzzMessage{typ, b})
	}
}

// readSmall reads r to its end in Reads of 1 to 7 bytes.
func readSmall(r io.Reader) ([]byte, error) {
	var b []byte
	var p [7]byte
	for i := 0; ; i++ {
		n, err := r.Read(p[:1+i%7])
		b = append(b, p[:n]...)
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// validUTF8Prefix reports whether b is valid UTF-8 or valid UTF-8 cut
// inside its last character: what a text message may deliver before a
// failure.
func validUTF8Prefix(b []byte) bool {
	for cut := 0; cut <= 3 && cut <= len(b); cut++ {
		head, tail := b[:len(b)-cut], b[len(b)-cut:]
		if utf8.Valid(head) && (cut == 0 || !utf8.FullRune(tail)) {
			return true
		}
	}
	return false
}

// sameRun asserts that two undisturbed runs of one input, read another
// way or in other chunks, saw the same thing.
//
// One difference is allowed: a compressed message can break more than one
// rule (it does not inflate, its text is not UTF-8, it inflates past the
// limit), and which one is seen first depends on how much is inflated at
// a time, so on the size of the reader's buffer. Then only the messages
// before it, and the frames written before the close frame, must agree.
func sameRun(t *testing.T, k fuzzKnobs, ref, run *fuzzRun) {
	require.Equal(t, len(ref.msgs), len(run.msgs), "%v: messages, compared to ReadMessage", k)
	for i := range ref.msgs {
		require.Equal(t, ref.msgs[i].typ, run.msgs[i].typ, "%v: message %d, compared to ReadMessage", k, i)
		require.True(t, bytes.Equal(ref.msgs[i].data, run.msgs[i].data), "%v: message %d, compared to ReadMessage: %q, %q", k, i, ref.msgs[i].data, run.msgs[i].data)
	}
	var refPE, runPE *protocolError
	if k.compression != CompressionDisabled && errors.As(ref.event.Err, &refPE) && errors.As(run.event.Err, &runPE) {
		_, _, refAt, _ := serverFrames(t, k, ref.out)
		_, _, runAt, _ := serverFrames(t, k, run.out)
		require.Equal(t, ref.out[:refAt], run.out[:runAt], "%v: frames before the close frame, compared to ReadMessage", k)
		return
	}
	if run.err != nil {
		require.EqualError(t, run.err, ref.err.Error(), "%v: final error, compared to ReadMessage", k)
	}
	require.Equal(t, fmt.Sprintf("%+v", ref.event), fmt.Sprintf("%+v", run.event), "%v: CloseEvent, compared to ReadMessage", k)
	require.Equal(t, ref.out, run.out, "%v: bytes written, compared to ReadMessage", k)
}

func FuzzConnRead(f *testing.F) {
	for _, s := range connReadSeeds() {
		f.Add(s.wire, s.comp, s.limit, s.mode, s.closeAt, s.flags)
	}
	f.Fuzz(func(t *testing.T, wire []byte, comp uint8, limit uint16, mode, closeAt, flags uint8) {
		k := decodeKnobs(comp, limit, mode, closeAt, flags)
		run := runConnRead(t, wire, k)
		checkRun(t, k, run)
		checkRef(t, k, wire, run)
		if !k.undisturbed() || (k.mode == modeReadMessage && k.chunk == 0) {
			return
		}
		// The same input, read whole by ReadMessage, must give the same.
		rk := k
		rk.mode, rk.chunk = modeReadMessage, 0
		ref := runConnRead(t, wire, rk)
		checkRun(t, rk, ref)
		sameRun(t, k, ref, run)
	})
}
