package websocket

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests pin down how the ways a connection ends interact: a reader
// that leaves during Close, a heartbeat during Close, Terminate while an
// orderly close waits, a drain of a connection already closing.

// TestCloseReaderLeaves: the reader stops reading during Close (its
// handler returned). A close frame that comes next is read by Close at
// once, and so is a ping before it: the reader would get nothing from them
// but their effect. A message that comes next is left to the reader for
// readerGrace, then read and discarded by Close in its place.
func TestCloseReaderLeaves(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after string        // a message the peer sends before its close frame, once the reader has left
		ping  bool          // a ping before the close frame, answered by Close
		want  time.Duration // how long Close takes
	}{
		{name: "close frame next", want: 0},
		{name: "ping, then close frame", ping: true, want: 0},
		{name: "message next", after: "unread", want: readerGrace},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, c := pipeConn(t, nil)
				got := make(chan message, 1)
				go func() { // reads one message, then its handler returns
					typ, data, err := c.ReadMessage()
					got <- message{typ, string(data), err}
				}()
				synctest.Wait()
				start := time.Now()
				closed := make(chan error, 1)
				go func() { closed <- c.Close(StatusNormalClosure, "") }()
				p.wantClose(StatusNormalClosure)
				synctest.Wait() // Close waits, leaving the frames to the reader
				p.send(fin|wText, []byte("last"))
				assert.Equal(t, message{TextMessage, "last", nil}, <-got)
				if tt.after != "" {
					p.send(fin|wText, []byte(tt.after))
				}
				if tt.ping {
					p.send(fin|wPing, []byte("still there?"))
					pong, err := p.readFrame()
					require.NoError(t, err)
					assert.Equal(t, serverFrame{fin | wPong, []byte("still there?")}, pong)
				}
				p.sendClose(StatusNormalClosure, "")
				p.wantEOF()
				require.NoError(t, <-closed)
				assert.Equal(t, tt.want, time.Since(start))
				assert.True(t, c.CloseEvent().WasClean)
			})
		})
	}
}

// TestCloseAfterAnswer: a client that reads its answer and then calls
// Close from the same goroutine, the request/response pattern, gets the
// server's close frame at once rather than after readerGrace.
func TestCloseAfterAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		go p.send(fin|wText, []byte("answer"))
		_, msg, err := c.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, "answer", string(msg))
		go func() {
			p.wantClose(StatusNormalClosure)
			p.sendClose(StatusNormalClosure, "")
		}()
		start := time.Now()
		require.NoError(t, c.Close(StatusNormalClosure, ""))
		assert.Zero(t, time.Since(start), "Close waited for a reader that was its own caller")
		_, _, err = c.ReadMessage()
		assert.Equal(t, &CloseError{Code: StatusNormalClosure}, err, "the reader still gets the peer's close")
	})
}

// TestHeartbeatStopsWhenClosing: a ping cycle that would end during the
// closing handshake does not cut it short.
func TestHeartbeatStopsWhenClosing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, &Upgrader{PingInterval: 10 * time.Second, PongTimeout: 3 * time.Second})
		readAll(c)
		time.Sleep(9 * time.Second) // the peer is quiet; the first ping is due at 10 s
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "") }()
		p.wantClose(StatusNormalClosure)
		time.Sleep(4500 * time.Millisecond) // a slow answer, inside the close timeout
		p.sendClose(StatusNormalClosure, "")
		p.wantEOF()
		require.NoError(t, <-closed)
		assert.True(t, c.CloseEvent().WasClean)
	})
}

// TestCloseStuckBehindWrite: the peer's close frame has arrived, but our
// close frame is stuck behind a data write the peer never reads.
// Terminate ends the wait at once, the close timer at the close timeout;
// the record says which.
func TestCloseStuckBehindWrite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cut   func(*Conn) error // what ends the wait; nil: only time
		cause error
		after time.Duration
	}{
		{"Terminate", (*Conn).Terminate, ErrTerminated, 0},
		{"close timeout", nil, ErrCloseTimeout, defaultCloseTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, c := pipeConn(t, nil)
				go func() { _ = c.WriteMessage(BinaryMessage, make([]byte, 1<<16)) }() // the peer never reads it
				msgs := readAll(c)
				synctest.Wait()
				start := time.Now()
				closed := make(chan error, 1)
				go func() { closed <- c.Close(StatusNormalClosure, "") }()
				synctest.Wait() // Close waits for the frame lock
				p.sendClose(StatusNormalClosure, "")
				synctest.Wait() // the reader waits for our close frame
				if tc.cut != nil {
					require.NoError(t, tc.cut(c))
				}
				assert.ErrorIs(t, <-closed, tc.cause)
				assert.Equal(t, tc.after, time.Since(start))
				ev := c.CloseEvent()
				assert.False(t, ev.WasClean)
				assert.ErrorIs(t, ev.Err, tc.cause)
				assert.Equal(t, StatusNormalClosure, CloseStatus((<-msgs).err))
			})
		})
	}
}

// TestShutdownContextForClosingConn: Shutdown's context bounds a
// connection whose close another caller had already started.
func TestShutdownContextForClosingConn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group{}
		p, c := pipeConn(t, &Upgrader{Group: g, CloseTimeout: 30 * time.Second})
		go func() { _ = c.Close(StatusGoingAway, "") }()
		p.wantClose(StatusGoingAway) // and never answers
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		res, err := g.Shutdown(ctx, 0, "")
		assert.Equal(t, time.Second, time.Since(start))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, ShutdownResult{Terminated: 1}, res)
	})
}

// TestPingContextWhileWriteBlocked: Ping gives up when its context ends
// while another write holds the connection.
func TestPingContextWhileWriteBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := pipeConn(t, nil)
		go func() { _ = c.WriteMessage(BinaryMessage, make([]byte, 1<<16)) }() // the peer never reads it
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := c.Ping(ctx, []byte("x"))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		require.NoError(t, c.Terminate())
	})
}

// TestReadMessageHugeHeader: a header that announces more than will come
// allocates little, and with no read limit does not crash the reader.
func TestReadMessageHugeHeader(t *testing.T) {
	for _, tt := range []struct {
		name   string
		limit  int64
		length uint64
	}{
		{"2^62 without a limit", -1, 1 << 62},
		{"1 MiB within the limit", 0, 1 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, c := connect(t, &Upgrader{ReadLimit: tt.limit})
			header := []byte{fin | wBinary, 0x80 | 127}
			header = binary.BigEndian.AppendUint64(header, tt.length)
			p.sendRaw(append(header, p.key[:]...))
			p.sendRaw([]byte("just a few bytes"))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			result := make(chan error, 1)
			go func() {
				_, _, err := c.ReadMessage()
				result <- err
			}()
			p.conn.Close() // the rest never comes
			err := <-result
			runtime.ReadMemStats(&after)
			assert.Equal(t, StatusAbnormalClosure, CloseStatus(err))
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(512<<10), "bytes allocated while reading")
		})
	}
}

// TestReadFindsDoneClosed: a read that comes between the moment finish
// marks the end and the moment it closes Done waits for Done, so that the
// reader finds it closed, as CloseEvent's doc promises.
func TestReadFindsDoneClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := pipeConn(t, nil)
		c.hasEnded.Store(true) // finish has marked the end, not closed Done yet
		read := make(chan error, 1)
		go func() {
			_, _, err := c.ReadMessage()
			read <- err
		}()
		synctest.Wait()
		select {
		case err := <-read:
			t.Fatalf("the read returned %v before Done was closed", err)
		default:
		}
		require.NoError(t, c.Terminate()) // finish runs on
		err := <-read
		require.ErrorIs(t, err, ErrTerminated)
		select {
		case <-c.Done():
		default:
			t.Fatal("Done is open after the read returned")
		}
	})
}

// TestCloseWaitsForReadLoop: a read loop that is handling a message when
// Close is called gets the messages the peer sends before its close frame:
// Close gives it readerGrace to come back instead of reading in its place.
func TestCloseWaitsForReadLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := pipeConn(t, nil)
		go p.send(fin|wText, []byte("zero"))
		_, msg, err := c.ReadMessage() // the loop's first message
		require.NoError(t, err)
		require.Equal(t, "zero", string(msg))
		// The loop handles "zero" while the application closes.
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusNormalClosure, "") }()
		p.wantClose(StatusNormalClosure)
		synctest.Wait()
		go func() {
			p.send(fin|wText, []byte("one")) // sent before the peer's close frame
			p.sendClose(StatusNormalClosure, "")
		}()
		synctest.Wait()
		_, msg, err = c.ReadMessage() // the loop comes back, within the grace
		require.NoError(t, err, "the message sent before the close frame")
		assert.Equal(t, "one", string(msg))
		_, _, err = c.ReadMessage()
		assert.Equal(t, &CloseError{Code: StatusNormalClosure}, err)
		require.NoError(t, <-closed)
	})
}
