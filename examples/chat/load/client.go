package main

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a60656ec/websocket"
)

// client is one member of the load room: a connection made with the
// library's Dial, and its account of what arrived.
type client struct {
	id   int
	name string
	room *roomState
	conn *websocket.Conn

	// The reader's own, touched one message at a time.
	buf      []byte
	lastSync int // the last window whose sync message arrived; -1 before any

	mu      sync.Mutex // guards tallies: the reader adds, the run resets and reads
	tallies []tally    // the current window's, one per publisher

	joined     atomic.Bool   // its own join has arrived: it is in the room
	joinedCh   chan struct{} // closed when joined is set
	endedEarly atomic.Bool   // the connection ended before the run ended it
	reported   bool          // the run's: its end is in a window's result
}

// newClient returns client id of room.
func newClient(id int, room *roomState) *client {
	c := &client{id: id, name: clientName(id), room: room, lastSync: -1, joinedCh: make(chan struct{})}
	c.resetTallies()
	return c
}

// clientName is client id's member name in the room.
func clientName(id int) string { return "c" + strconv.Itoa(id) }

// resetTallies starts a window's account.
func (c *client) resetTallies() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tallies = make([]tally, c.room.pubs)
	for i := range c.tallies {
		c.tallies[i] = newTally()
	}
}

// kindPeek is how much of an event tells its kind: `{"kind":"message"`.
const kindPeek = len(`{"kind":"message"`)

// onMessage handles one event from the chat. It reads the first bytes
// first: a message, or the client's own join, is read whole; anything else
// (other members' joins, and the "here" lists, tens of kilobytes each at
// 10,000 members) is left unread, so that no client's buffer grows to hold
// one.
func (c *client) onMessage(_ websocket.MessageType, r io.Reader) {
	var head [kindPeek]byte
	n, _ := io.ReadFull(r, head[:])
	if n < kindPeek {
		return
	}
	isMessage := bytes.Equal(head[:], []byte(`{"kind":"message"`))
	if !isMessage && (c.joined.Load() || !bytes.HasPrefix(head[:], []byte(`{"kind":"join"`))) {
		return
	}
	b, err := readAll(append(c.buf[:0], head[:]...), r)
	c.buf = b
	if err != nil {
		return
	}
	now := time.Now().UnixNano()
	if !isMessage {
		if isOwnJoin(b, c.name) {
			c.joined.Store(true)
			close(c.joinedCh)
			c.room.joined.Add(1)
		}
		return
	}
	rec := c.room.cur.Load()
	if rec == nil {
		return
	}
	text := eventText(b)
	if win, pub, seq, sent, ok := parseLoadText(text); ok {
		switch {
		case win != rec.index:
			rec.stale.Add(1)
			return
		case rec.closed.Load():
			rec.late.Add(1)
			return
		}
		c.delivery(rec, pub, seq, sent, now)
	} else if win, ok := parseSyncText(text); ok && win > c.lastSync {
		c.lastSync = win
		if win == rec.index {
			rec.synced.Add(1)
		}
	}
}

// delivery accounts for the arrival of a load message at Unix nanosecond
// now; only its first arrival is timed.
func (c *client) delivery(rec *recorder, pub int, seq, sent, now int64) {
	c.mu.Lock()
	first, known := false, pub < len(c.tallies)
	if known {
		first = c.tallies[pub].add(seq)
	}
	c.mu.Unlock()
	switch {
	case !known:
		rec.garbled.Add(1)
	case first:
		rec.delivery(sent, now)
	}
}

// readAll appends what is left of r to b.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// read starts reading the connection: with a goroutine of its own blocked
// in NextReader, as most applications read, or with Serve, where the
// library's poller reads it when bytes arrive.
func (c *client) read(serve bool) {
	onEnd := func(websocket.CloseEvent) {
		if !c.room.stopping.Load() {
			c.endedEarly.Store(true)
		}
	}
	if serve {
		if err := c.conn.Serve(c.onMessage, onEnd); err == nil {
			return
		}
	}
	go func() {
		for {
			typ, r, err := c.conn.NextReader()
			if err != nil {
				<-c.conn.Done()
				onEnd(c.conn.CloseEvent())
				return
			}
			c.onMessage(typ, r)
		}
	}()
}
