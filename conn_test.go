package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// message is one result of ReadMessage.
type message struct {
	typ  MessageType
	data string
	err  error
}

// readAll runs the application's read loop in a goroutine and hands every
// result to the test, the final error last.
func readAll(c *Conn) <-chan message {
	out := make(chan message, 64)
	go func() {
		defer close(out)
		for {
			typ, data, err := c.ReadMessage()
			out <- message{typ, string(data), err}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// TestPeerViolations sends each kind of bad input and checks the close
// code on the wire, that TCP is closed after it, and what the reader gets.
func TestPeerViolations(t *testing.T) {
	p := &peer{key: [4]byte{1, 2, 3, 4}} // frame builder only
	huge := []byte{fin | wBinary, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
	topBit := []byte{fin | wBinary, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	tests := []struct {
		name  string
		limit int64
		wire  []byte
		code  StatusCode
		want  error
	}{
		{"unmasked frame", 0, []byte{fin | wText, 2, 'h', 'i'}, StatusProtocolError, ErrProtocol},
		{"RSV1 without extension", 0, p.frame(fin|rsv1|wText, []byte("hi")), StatusProtocolError, ErrProtocol},
		{"RSV2", 0, p.frame(fin|rsv2|wText, []byte("hi")), StatusProtocolError, ErrProtocol},
		{"RSV3", 0, p.frame(fin|rsv3|wBinary, nil), StatusProtocolError, ErrProtocol},
		{"reserved data opcode 0x3", 0, p.frame(fin|0x3, nil), StatusProtocolError, ErrProtocol},
		{"reserved data opcode 0x7", 0, p.frame(fin|0x7, nil), StatusProtocolError, ErrProtocol},
		{"reserved control opcode 0xB", 0, p.frame(fin|0xB, nil), StatusProtocolError, ErrProtocol},
		{"reserved control opcode 0xF", 0, p.frame(fin|0xF, nil), StatusProtocolError, ErrProtocol},
		{"fragmented ping", 0, p.frame(wPing, []byte("x")), StatusProtocolError, ErrProtocol},
		{"ping of 126 bytes", 0, p.frame(fin|wPing, make([]byte, 126)), StatusProtocolError, ErrProtocol},
		{"close of 126 bytes", 0, p.frame(fin|wClose, closeBody(1000, strings.Repeat("a", 124))), StatusProtocolError, ErrProtocol},
		{"continuation without start", 0, p.frame(fin|wCont, []byte("x")), StatusProtocolError, ErrProtocol},
		{"new message inside fragmented", 0, cat(p.frame(wText, []byte("a")), p.frame(fin|wText, []byte("b"))), StatusProtocolError, ErrProtocol},
		{"64-bit length with top bit", 0, topBit, StatusProtocolError, ErrProtocol},
		{"close of 1 byte", 0, p.frame(fin|wClose, []byte{3}), StatusProtocolError, ErrProtocol},
		{"close code 999", 0, p.frame(fin|wClose, closeBody(999, "")), StatusProtocolError, ErrProtocol},
		{"close code 1004", 0, p.frame(fin|wClose, closeBody(1004, "")), StatusProtocolError, ErrProtocol},
		{"close code 1005", 0, p.frame(fin|wClose, closeBody(1005, "")), StatusProtocolError, ErrProtocol},
		{"close code 1006", 0, p.frame(fin|wClose, closeBody(1006, "")), StatusProtocolError, ErrProtocol},
		{"close code 1015", 0, p.frame(fin|wClose, closeBody(1015, "")), StatusProtocolError, ErrProtocol},
		{"close code 1016", 0, p.frame(fin|wClose, closeBody(1016, "")), StatusProtocolError, ErrProtocol},
		{"close code 2999", 0, p.frame(fin|wClose, closeBody(2999, "")), StatusProtocolError, ErrProtocol},
		{"close code 5000", 0, p.frame(fin|wClose, closeBody(5000, "")), StatusProtocolError, ErrProtocol},
		{"close reason not UTF-8", 0, p.frame(fin|wClose, closeBody(1000, "\xff")), StatusInvalidFramePayloadData, ErrInvalidUTF8},
		{"text not UTF-8", 0, p.frame(fin|wText, []byte("ok\xffok")), StatusInvalidFramePayloadData, ErrInvalidUTF8},
		// Only the first fragment is sent: the failure must not wait for
		// the end of the message.
		{"first fragment not UTF-8", 0, p.frame(wText, []byte("\xc0\x80")), StatusInvalidFramePayloadData, ErrInvalidUTF8},
		{"text ends inside a character", 0, p.frame(fin|wText, []byte("\xe2\x82")), StatusInvalidFramePayloadData, ErrInvalidUTF8},
		{"empty final fragment ends inside a character", 0, cat(p.frame(wText, []byte("\xe2\x82")), p.frame(fin|wCont, nil)), StatusInvalidFramePayloadData, ErrInvalidUTF8},
		// No payload follows: the server must refuse on the header alone.
		{"length of 2^62", 0, huge, StatusMessageTooBig, ErrMessageTooBig},
		{"over the limit in one frame", 10, p.frame(fin|wBinary, make([]byte, 11)), StatusMessageTooBig, ErrMessageTooBig},
		{"over the limit across fragments", 10, cat(p.frame(wBinary, make([]byte, 6)), p.frame(fin|wCont, make([]byte, 6))), StatusMessageTooBig, ErrMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c := connect(t, &Upgrader{ReadLimit: tt.limit})
			msgs := readAll(c)
			p.sendRaw(tt.wire)
			p.wantClose(tt.code)
			p.wantEOF() // the server half-closed TCP after its close frame
			p.conn.Close()
			m := <-msgs
			require.ErrorIs(t, m.err, tt.want)
			var pe *protocolError
			require.ErrorAs(t, m.err, &pe)
			assert.Equal(t, tt.code, pe.code())
			ev := wantDone(t, c)
			assert.Equal(t, StatusAbnormalClosure, ev.Code)
			assert.False(t, ev.WasClean)
			assert.Equal(t, SideLocal, ev.Initiator)
			assert.ErrorIs(t, ev.Err, tt.want)
			// The error is sticky.
			_, _, err := c.ReadMessage()
			assert.Equal(t, m.err, err)
		})
	}
}

// TestMessageSizes echoes messages across the 7-, 16- and 64-bit length
// encodings, and checks the server's frames use the same.
func TestMessageSizes(t *testing.T) {
	for _, size := range []int{0, 1, 125, 126, 4096, 65535, 65536, 1 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			p, c := connect(t, nil)
			data := bytes.Repeat([]byte("abcdefgh"), size/8+1)[:size]
			p.send(fin|wBinary, data)
			typ, got, err := c.ReadMessage()
			require.NoError(t, err)
			require.Equal(t, BinaryMessage, typ)
			require.Equal(t, data, got)
			require.NoError(t, c.WriteMessage(BinaryMessage, got))
			f, err := p.readFrame()
			require.NoError(t, err)
			require.Equal(t, byte(fin|wBinary), f.first)
			require.Equal(t, data, f.payload)
		})
	}
}

// TestFragmentedMessage reassembles a message sent in fragments, with a
// character split between two of them and pings in between, each answered
// at once.
func TestFragmentedMessage(t *testing.T) {
	p, c := connect(t, nil)
	msgs := readAll(c)
	p.send(wText, []byte("h\xc3"))
	p.send(fin|wPing, []byte("one"))
	p.wantFrame(fin|wPong, "one")
	p.send(wCont, []byte("\xa9llo "))
	p.send(fin|wPing, nil)
	p.wantFrame(fin|wPong, "")
	p.send(wCont, nil)
	p.send(fin|wCont, []byte("world"))
	m := <-msgs
	require.NoError(t, m.err)
	assert.Equal(t, message{TextMessage, "héllo world", nil}, m)
}

// TestNextReaderChunks reads a fragmented message one byte at a time.
func TestNextReaderChunks(t *testing.T) {
	p, c := connect(t, nil)
	p.send(wBinary, []byte("abc"))
	p.send(fin|wCont, []byte("def"))
	p.send(fin|wText, []byte("next"))
	typ, r, err := c.NextReader()
	require.NoError(t, err)
	require.Equal(t, BinaryMessage, typ)
	got, err := io.ReadAll(iotest.OneByteReader(r))
	require.NoError(t, err)
	require.Equal(t, "abcdef", string(got))
	n, err := r.Read(make([]byte, 1))
	assert.Equal(t, 0, n)
	assert.Equal(t, io.EOF, err)

	typ, r2, err := c.NextReader()
	require.NoError(t, err)
	require.Equal(t, TextMessage, typ)
	_, err = r.Read(make([]byte, 1))
	require.ErrorIs(t, err, errStaleReader, "the reader of an earlier message is refused")
	got, err = io.ReadAll(r2)
	require.NoError(t, err)
	require.Equal(t, "next", string(got))
}

// TestNextReaderSkipsUnread drops what the application left of a message.
func TestNextReaderSkipsUnread(t *testing.T) {
	p, c := connect(t, nil)
	p.send(wBinary, []byte("first"))
	p.send(fin|wCont, []byte(" message"))
	p.send(fin|wText, []byte("second"))
	_, r, err := c.NextReader()
	require.NoError(t, err)
	_, err = r.Read(make([]byte, 2))
	require.NoError(t, err)
	_, data, err := c.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "second", string(data))
}

// TestNextWriterFragments streams a message larger than the write buffer:
// it leaves as a first frame, continuations and a final one.
func TestNextWriterFragments(t *testing.T) {
	p, c := connect(t, &Upgrader{WriteBufferSize: 1024})
	w, err := c.NextWriter(TextMessage)
	require.NoError(t, err)
	data := strings.Repeat("é", 1500) // 3000 bytes, characters split across buffers
	for i := 0; i < len(data); i += 100 {
		_, err := io.WriteString(w, data[i:i+100])
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	_, err = w.Write([]byte("x"))
	require.Error(t, err, "write after Close of the writer")
	var got []byte
	var firsts []byte
	for {
		f, err := p.readFrame()
		require.NoError(t, err)
		firsts = append(firsts, f.first)
		got = append(got, f.payload...)
		if f.first&fin != 0 {
			break
		}
	}
	assert.Equal(t, []byte{wText, wCont, fin | wCont}, firsts)
	assert.Equal(t, data, string(got))
}

// TestConcurrentWriters checks that messages from many goroutines arrive
// whole, each writer's in its own order.
func TestConcurrentWriters(t *testing.T) {
	p, c := connect(t, &Upgrader{WriteBufferSize: 512})
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				msg := strings.Repeat(fmt.Sprintf("%d:%d;", w, i), 100+w*50)
				var err error
				if i%2 == 0 {
					err = c.WriteMessage(TextMessage, []byte(msg))
				} else {
					var mw io.WriteCloser
					if mw, err = c.NextWriter(TextMessage); err == nil {
						_, err = io.WriteString(mw, msg)
						assert.NoError(t, err)
						err = mw.Close()
					}
				}
				assert.NoError(t, err)
			}
		})
	}
	next := make([]int, writers)
	for range writers * each {
		var payload []byte
		for {
			f, err := p.readFrame()
			require.NoError(t, err)
			payload = append(payload, f.payload...)
			if f.first&fin != 0 {
				break
			}
		}
		var w, i int
		_, err := fmt.Sscanf(string(payload), "%d:%d;", &w, &i)
		require.NoError(t, err)
		require.Equal(t, next[w], i, "writer %d out of order", w)
		require.Equal(t, strings.Repeat(fmt.Sprintf("%d:%d;", w, i), 100+w*50), string(payload))
		next[w]++
	}
	wg.Wait()
}

// TestPing sends a ping and waits for the peer's pong; pongs with another
// payload do not count.
func TestPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		msgs := readAll(c)
		done := make(chan error, 1)
		go func() { done <- c.Ping(context.Background(), []byte("are you there")) }()
		p.wantFrame(fin|wPing, "are you there")
		p.send(fin|wPong, []byte("something else"))
		p.send(fin|wText, []byte("between"))
		assert.Equal(t, "between", (<-msgs).data)
		synctest.Wait() // everything has run that a wrong pong could wake
		select {
		case err := <-done:
			t.Fatalf("Ping returned %v on a pong of another payload", err)
		default:
		}
		p.send(fin|wPong, []byte("are you there"))
		require.NoError(t, <-done)

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		go func() { done <- c.Ping(ctx, []byte("late")) }()
		p.wantFrame(fin|wPing, "late")
		start := time.Now()
		require.ErrorIs(t, <-done, context.DeadlineExceeded)
		assert.Equal(t, time.Minute, time.Since(start))
	})
}

// TestBadArguments checks that the application's mistakes return errors
// and send nothing.
func TestBadArguments(t *testing.T) {
	p, c := connect(t, nil)
	assert.Error(t, c.WriteMessage(MessageType(3), []byte("x")))
	assert.ErrorIs(t, c.WriteMessage(TextMessage, []byte("\xff")), ErrInvalidUTF8)
	_, err := c.NextWriter(MessageType(0))
	assert.Error(t, err)
	assert.Error(t, c.Ping(context.Background(), make([]byte, 126)))
	assert.Error(t, c.Close(StatusNoStatusRcvd, ""))
	assert.Error(t, c.Close(StatusAbnormalClosure, ""))
	assert.Error(t, c.Close(StatusTLSHandshake, ""))
	assert.Error(t, c.Close(999, ""))
	assert.Error(t, c.Close(StatusNormalClosure, strings.Repeat("a", 124)))
	assert.ErrorIs(t, c.Close(StatusNormalClosure, "\xff"), ErrInvalidUTF8)
	w, err := c.NextWriter(TextMessage)
	require.NoError(t, err)
	_, err = w.Write([]byte("ok\xff"))
	assert.ErrorIs(t, err, ErrInvalidUTF8)
	assert.ErrorIs(t, w.Close(), ErrInvalidUTF8)

	// Nothing of the above reached the wire: the next frame is this one.
	require.NoError(t, c.WriteMessage(TextMessage, []byte("fine")))
	p.wantFrame(fin|wText, "fine")
	require.NoError(t, c.WriteMessage(TextMessage, []byte(strings.Repeat("a", 123))))
	p.wantFrame(fin|wText, strings.Repeat("a", 123))
}

// TestPeerDropsTCP gives the reader a CloseError with 1006 when the peer
// goes away without a close frame.
func TestPeerDropsTCP(t *testing.T) {
	p, c := connect(t, nil)
	msgs := readAll(c)
	p.send(fin|wText, []byte("last words"))
	assert.Equal(t, "last words", (<-msgs).data)
	p.conn.Close()
	m := <-msgs
	var ce *CloseError
	require.ErrorAs(t, m.err, &ce)
	assert.Equal(t, StatusAbnormalClosure, ce.Code)
	assert.Equal(t, StatusAbnormalClosure, CloseStatus(m.err))
	ev := wantDone(t, c)
	assert.Equal(t, StatusAbnormalClosure, ev.Code)
	assert.Equal(t, SidePeer, ev.Initiator)
	assert.False(t, ev.WasClean)
	assert.ErrorIs(t, c.WriteMessage(TextMessage, []byte("x")), net.ErrClosed)
}

// TestCloseStatus reads codes through wrapping, and 0 without one.
func TestCloseStatus(t *testing.T) {
	err := fmt.Errorf("handler: %w", &CloseError{Code: StatusGoingAway, Reason: "bye"})
	assert.Equal(t, StatusGoingAway, CloseStatus(err))
	assert.Equal(t, StatusCode(0), CloseStatus(errors.New("other")))
	assert.Equal(t, StatusCode(0), CloseStatus(nil))
	assert.Equal(t, `websocket: closed: 1001 (going away) "bye"`, (&CloseError{Code: StatusGoingAway, Reason: "bye"}).Error())
}
