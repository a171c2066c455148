package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/a60656ec/websocket"
	"github.com/nats-io/nats.go"
)

// broadcastBound caps one delivery to a room's local members. Each write
// is also bounded by the Upgrader's WriteTimeout; this keeps a room whose
// members are all stuck from holding its subscription for longer.
const broadcastBound = 10 * time.Second

// flushTimeout bounds how long a join waits for the NATS server to confirm
// the room's subscription.
const flushTimeout = 5 * time.Second

// hub keeps, for one process, the members of each room that are connected
// here, and one NATS subscription per such room. A room's events arrive
// from NATS once per process and go to its local members as one
// PreparedMessage: framed (and compressed) once, written to each socket.
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
}

// room is a room's local side: its members here and the subscription that
// feeds them.
type room struct {
	members map[*websocket.Conn]string // connection to member name
	sub     *nats.Subscription
}

// newHub returns a hub that publishes and subscribes through nc.
func newHub(nc *nats.Conn, log *slog.Logger) *hub {
	return &hub{nc: nc, log: log, rooms: make(map[string]*room)}
}

// join adds conn to the room as name and announces it. It returns once the
// room's subscription is registered with the NATS server, so that the
// member's own join event, and everything after it, reaches it.
func (h *hub) join(roomName, name string, conn *websocket.Conn) error {
	h.mu.Lock()
	r := h.rooms[roomName]
	if r == nil {
		sub, err := h.nc.Subscribe(roomSubject(roomName), func(m *nats.Msg) {
			h.deliver(roomName, m.Data)
		})
		if err != nil {
			h.mu.Unlock()
			return err
		}
		r = &room{members: make(map[*websocket.Conn]string), sub: sub}
		h.rooms[roomName] = r
	}
	r.members[conn] = name
	h.mu.Unlock()

	// Flush waits for the server to have processed the SUB: without it,
	// a join event could reach the other processes before this one listens.
	if err := h.nc.FlushTimeout(flushTimeout); err != nil {
		return err
	}
	return h.publish(event{Kind: kindJoin, Room: roomName, From: name})
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
	name, ok := r.members[conn]
	delete(r.members, conn)
	if len(r.members) == 0 {
		delete(h.rooms, roomName)
		// Unsubscribe under the lock: a join for this room that follows
		// makes a new subscription rather than reusing a dying one.
		if err := r.sub.Unsubscribe(); err != nil {
			h.log.Warn("unsubscribe", "room", roomName, "err", err)
		}
	}
	h.mu.Unlock()
	if ok {
		if err := h.publish(event{Kind: kindLeave, Room: roomName, From: name}); err != nil {
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

// deliver hands one event of a room to the room's local members. It runs
// on the subscription's goroutine, so a room's events reach a member in
// the order NATS delivered them.
func (h *hub) deliver(roomName string, data []byte) {
	conns, names := h.localMembers(roomName)
	if len(conns) == 0 {
		return
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
	if err != nil {
		h.log.Warn("prepare", "room", roomName, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), broadcastBound)
	defer cancel()
	res, err := websocket.Broadcast(ctx, conns, pm)
	if err != nil || res.Terminated > 0 || res.Failed > 0 {
		h.log.Info("broadcast", "room", roomName, "delivered", res.Delivered,
			"skipped", res.Skipped, "terminated", res.Terminated, "failed", res.Failed, "err", err)
	}
	h.answerJoin(roomName, data, names)
}

// answerJoin tells a newcomer who is already here: presence is not stored
// anywhere, so each process with members in the room lists them when it
// hears a join.
func (h *hub) answerJoin(roomName string, data []byte, names []string) {
	var ev event
	if json.Unmarshal(data, &ev) != nil || ev.Kind != kindJoin {
		return
	}
	if err := h.publish(event{Kind: kindHere, Room: roomName, Names: names}); err != nil {
		h.log.Warn("publish here", "room", roomName, "err", err)
	}
}

// localMembers returns a snapshot of the room's local connections and
// their names, so that the lock is not held while writing.
func (h *hub) localMembers(roomName string) ([]*websocket.Conn, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[roomName]
	if r == nil {
		return nil, nil
	}
	conns := make([]*websocket.Conn, 0, len(r.members))
	names := make([]string, 0, len(r.members))
	for c, n := range r.members {
		conns = append(conns, c)
		names = append(names, n)
	}
	return conns, names
}
