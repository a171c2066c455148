package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/nats-io/nats.go"
)

// broadcastBound caps one delivery to a room's local members. Each write
// is also bounded by the Upgrader's WriteTimeout; this keeps a room whose
// members are all stuck from holding its subscription for longer.
const broadcastBound = 10 * time.Second

// roomQueue is how many of a room's events may wait while a broadcast to
// its members runs; beyond it, NATS holds them (and, past its own limit,
// reports a slow consumer). maxBatch is the most events one broadcast
// sends together.
const (
	roomQueue = 1024
	maxBatch  = 256
)

// flushTimeout bounds how long a join waits for the NATS server to confirm
// the room's subscription.
const flushTimeout = 5 * time.Second

// hub keeps, for one process, the members of each room that are connected
// here, and one NATS subscription per such room. A room's events arrive
// from NATS once per process and go to its local members as one
// PreparedMessage: framed (and compressed) once, written to each socket.
// Events that arrive while a broadcast runs wait for it and then go out
// together in one Broadcast, which gathers them into writes of up to 64
// KiB: a busy room costs a write per member per batch of chat-sized
// events, not one per event.
//
// Delivery is at most once: NATS core keeps no history, so an event
// published while a member is between two connections (a deploy's drain
// and its reconnect) is not seen by that member. JetStream replay would
// close that gap; it is left for later.
type hub struct {
	nc  *nats.Conn
	log *slog.Logger

	mu    sync.Mutex
	rooms map[string]*room // only rooms with a local member

	// active counts the members being served, so that a drain can wait
	// for their leave events to be published before NATS is closed.
	active sync.WaitGroup

	// broadcasts counts the Broadcast calls made: a busy room makes
	// fewer than it has events (tests read it).
	broadcasts atomic.Int64
}

// room is a room's local side: its members here and the subscription that
// feeds them.
type room struct {
	members map[*websocket.Conn]*localMember
	sub     *nats.Subscription
	events  chan *nats.Msg // from the subscription to the room's broadcaster
	gone    chan struct{}  // closed when the last local member leaves
}

// localMember is a member connected to this process.
type localMember struct {
	name string
	// inbox is the member's own subject: the answers to its join, which
	// list who is already in the room, come there and go to it alone.
	inbox *nats.Subscription
}

// newHub returns a hub that publishes and subscribes through nc.
func newHub(nc *nats.Conn, log *slog.Logger) *hub {
	return &hub{nc: nc, log: log, rooms: make(map[string]*room)}
}

// join adds conn to the room as name and announces it. It returns once the
// room's subscription is registered with the NATS server, so that the
// member's own join event, and everything after it, reaches it.
func (h *hub) join(roomName, name string, conn *websocket.Conn) error {
	inbox, err := h.nc.Subscribe(h.nc.NewInbox(), func(m *nats.Msg) {
		// An error means the connection is ending; its read loop sees to it.
		_ = conn.WriteMessage(websocket.TextMessage, m.Data)
	})
	if err != nil {
		return err
	}
	h.mu.Lock()
	r := h.rooms[roomName]
	if r == nil {
		r = &room{
			members: make(map[*websocket.Conn]*localMember),
			events:  make(chan *nats.Msg, roomQueue),
			gone:    make(chan struct{}),
		}
		// The callback keeps its own room: a message still in flight for a
		// room that emptied and was made anew does not reach the new
		// room's members through the old subscription as well.
		sub, err := h.nc.Subscribe(roomSubject(roomName), func(m *nats.Msg) {
			select {
			case r.events <- m:
			case <-r.gone:
			}
		})
		if err != nil {
			h.mu.Unlock()
			_ = inbox.Unsubscribe()
			return err
		}
		r.sub = sub
		h.rooms[roomName] = r
		go h.broadcaster(roomName, r)
	}
	r.members[conn] = &localMember{name: name, inbox: inbox}
	h.mu.Unlock()

	// Flush waits for the server to have processed the SUBs: without it,
	// a join event could reach the other processes before this one listens,
	// and their answers could come before the inbox is there.
	if err := h.nc.FlushTimeout(flushTimeout); err != nil {
		return err
	}
	data, err := json.Marshal(event{Kind: kindJoin, Room: roomName, From: name})
	if err != nil {
		return err
	}
	return h.nc.PublishMsg(&nats.Msg{Subject: roomSubject(roomName), Reply: inbox.Subject, Data: data})
}

// leave removes conn from its room, announces it, and drops the room's
// subscription when no local member is left.
func (h *hub) leave(roomName string, conn *websocket.Conn) {
	h.mu.Lock()
	r := h.rooms[roomName]
	if r == nil {
		h.mu.Unlock()
		return
	}
	m, ok := r.members[conn]
	delete(r.members, conn)
	if ok {
		if err := m.inbox.Unsubscribe(); err != nil {
			h.log.Warn("unsubscribe inbox", "room", roomName, "err", err)
		}
	}
	if len(r.members) == 0 {
		delete(h.rooms, roomName)
		// Unsubscribe under the lock: a join for this room that follows
		// makes a new subscription rather than reusing a dying one.
		if err := r.sub.Unsubscribe(); err != nil {
			h.log.Warn("unsubscribe", "room", roomName, "err", err)
		}
		close(r.gone)
	}
	h.mu.Unlock()
	if ok {
		if err := h.publish(event{Kind: kindLeave, Room: roomName, From: m.name}); err != nil {
			h.log.Warn("publish leave", "room", roomName, "err", err)
		}
	}
}

// waitIdle waits until no member is being served, or ctx ends, then
// flushes what they published so it is not lost when the process exits.
func (h *hub) waitIdle(ctx context.Context) error {
	idle := make(chan struct{})
	go func() {
		h.active.Wait()
		close(idle)
	}()
	select {
	case <-idle:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.nc.FlushWithContext(ctx)
}

// say publishes a member's message to its room, on every process.
func (h *hub) say(roomName, from, text string) error {
	return h.publish(event{Kind: kindMessage, Room: roomName, From: from, Text: text, ID: newID()})
}

// publish sends ev on its room's subject.
func (h *hub) publish(ev event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return h.nc.Publish(roomSubject(ev.Room), data)
}

// broadcaster hands a room's events to its local members, in the order
// NATS delivered them, until the room's last local member leaves. It
// takes every event already waiting (up to maxBatch) into one delivery.
func (h *hub) broadcaster(roomName string, r *room) {
	batch := make([]*nats.Msg, 0, maxBatch)
	for {
		select {
		case m := <-r.events:
			batch = append(batch[:0], m)
		case <-r.gone:
			return
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case m := <-r.events:
				batch = append(batch, m)
			default:
				break gather
			}
		}
		h.deliver(roomName, r, batch)
	}
}

// deliver hands events of a room to the room's local members, in one
// Broadcast, and answers the joins among them.
func (h *hub) deliver(roomName string, r *room, batch []*nats.Msg) {
	conns, names := h.membersOf(r)
	if len(conns) == 0 {
		return
	}
	pms := make([]*websocket.PreparedMessage, 0, len(batch))
	for _, m := range batch {
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, m.Data)
		if err != nil {
			h.log.Warn("prepare", "room", roomName, "err", err)
			continue
		}
		pms = append(pms, pm)
	}
	ctx, cancel := context.WithTimeout(context.Background(), broadcastBound)
	defer cancel()
	h.broadcasts.Add(1)
	res, err := websocket.Broadcast(ctx, conns, pms...)
	if err != nil || res.Terminated > 0 || res.Failed > 0 {
		h.log.Info("broadcast", "room", roomName, "events", len(pms), "delivered", res.Delivered,
			"skipped", res.Skipped, "terminated", res.Terminated, "failed", res.Failed, "err", err)
	}
	for _, m := range batch {
		if m.Reply != "" {
			h.answerJoin(roomName, m, names)
		}
	}
}

// answerJoin tells a newcomer who is already here: presence is not stored
// anywhere, so each process with members in the room lists them, on the
// newcomer's inbox, when it hears the join. Only the newcomer gets the
// lists, so a join costs one message per process, not one per member.
func (h *hub) answerJoin(roomName string, m *nats.Msg, names []string) {
	var ev event
	if json.Unmarshal(m.Data, &ev) != nil || ev.Kind != kindJoin {
		return
	}
	data, err := json.Marshal(event{Kind: kindHere, Room: roomName, Names: names})
	if err == nil {
		err = h.nc.Publish(m.Reply, data)
	}
	if err != nil {
		h.log.Warn("answer join", "room", roomName, "err", err)
	}
}

// membersOf returns a snapshot of a room's local connections and their
// names, so that the lock is not held while writing.
func (h *hub) membersOf(r *room) ([]*websocket.Conn, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	conns := make([]*websocket.Conn, 0, len(r.members))
	names := make([]string, 0, len(r.members))
	for c, m := range r.members {
		conns = append(conns, c)
		names = append(names, m.name)
	}
	return conns, names
}

// localMembers returns the room's local connections and their names.
func (h *hub) localMembers(roomName string) ([]*websocket.Conn, []string) {
	h.mu.Lock()
	r := h.rooms[roomName]
	h.mu.Unlock()
	if r == nil {
		return nil, nil
	}
	return h.membersOf(r)
}
