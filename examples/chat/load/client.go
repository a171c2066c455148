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
	rec  *recorder
	conn *websocket.Conn

	// The reader's own, touched one message at a time.
	buf    []byte
	synced bool

	mu      sync.Mutex // guards tallies: the reader adds, the report reads
	tallies []tally    // one per publisher

	joined     atomic.Bool // its own join has arrived: it is in the room
	endedEarly atomic.Bool // the connection ended before the run stopped it
}

// newClient returns client id of a run with pubs publishers.
func newClient(id, pubs int, rec *recorder) *client {
	c := &client{id: id, name: clientName(id), rec: rec, tallies: make([]tally, pubs)}
	for i := range c.tallies {
		c.tallies[i] = newTally()
	}
	return c
}

// clientName is client id's member name in the room.
func clientName(id int) string { return "c" + strconv.Itoa(id) }

// kindPeek is how much of an event tells its kind: `{"kind":"message"`.
const kindPeek = len(`{"kind":"message"`)

// onMessage handles one event from the chat. It reads the first bytes
// first: a load message or the client's own join is read whole, anything
// else (other members' joins, and the "here" lists, tens of kilobytes
// each at 10,000 members) is left unread, so that no client's buffer
// grows to hold one.
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
			c.rec.joined.Add(1)
		}
		return
	}
	text := eventText(b)
	if pub, seq, sent, ok := parseLoadText(text); ok {
		c.delivery(pub, seq, sent, now)
	} else if string(text) == syncText && !c.synced {
		c.synced = true
		c.rec.synced.Add(1)
	}
}

// delivery accounts for the arrival of a load message at Unix nanosecond
// now; only its first arrival is timed.
func (c *client) delivery(pub int, seq, sent, now int64) {
	if pub >= len(c.tallies) {
		c.rec.garbled.Add(1)
		return
	}
	c.mu.Lock()
	first := c.tallies[pub].add(seq)
	c.mu.Unlock()
	if first {
		c.rec.delivery(sent, now)
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

// read starts reading the connection: with Serve, the library's poller
// reads it when bytes arrive, or with a goroutine of its own blocked in
// NextReader, as most applications read.
func (c *client) read(serve bool, stopping *atomic.Bool) {
	onEnd := func(websocket.CloseEvent) {
		if !stopping.Load() {
			c.endedEarly.Store(true)
			c.rec.ended.Add(1)
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
