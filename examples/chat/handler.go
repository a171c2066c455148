package main

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/a60656ec/websocket"
)

// readLimit fits a chat message with room to spare; a page that sends more
// is closed with 1009 Message Too Big.
const readLimit = 64 << 10

//go:embed page.html
var page []byte

// newUpgrader returns the chat's Upgrader: connections join group, so a
// deploy can drain them; the heartbeat finds dead peers, the write timeout
// keeps a slow reader from holding a broadcast, and compression without
// context takeover lets one compressed frame serve every member.
func newUpgrader(group *websocket.Group) *websocket.Upgrader {
	return &websocket.Upgrader{
		Group:        group,
		PingInterval: 25 * time.Second,
		WriteTimeout: 5 * time.Second,
		ReadLimit:    readLimit,
		Compression:  websocket.CompressionNoContextTakeover,
	}
}

// newHandler serves the page at / and the chat's WebSocket at
// /ws?room=ROOM&name=NAME.
func newHandler(h *hub, upgrader *websocket.Upgrader) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		roomName, name := r.URL.Query().Get("room"), r.URL.Query().Get("name")
		if !validName(roomName) || !validName(name) {
			http.Error(w, "room and name: 1 to 32 letters, digits, - or _", http.StatusBadRequest)
			return
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // the client got an HTTP error: 503 while draining
		}
		serveMember(h, roomName, name, conn)
	})
	return mux
}

// serveMember runs one member's connection: it joins the room, publishes
// what the member says, and leaves the room when the connection ends,
// however it ends.
func serveMember(h *hub, roomName, name string, conn *websocket.Conn) {
	h.active.Add(1)
	defer h.active.Done()
	if err := h.join(roomName, name, conn); err != nil {
		h.log.Warn("join", "room", roomName, "err", err)
		h.leave(roomName, conn)
		conn.Close(websocket.StatusTryAgainLater, "chat bus unavailable")
		return
	}
	defer h.leave(roomName, conn)
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return // closed, drained (1012) or failed: CloseEvent says which
		}
		var msg clientMessage
		if typ != websocket.TextMessage || json.Unmarshal(data, &msg) != nil || msg.Text == "" {
			// Close reads the peer's close frame itself once this loop
			// stops reading, so the loop can end here.
			conn.Close(websocket.StatusUnsupportedData, "send JSON text: {\"text\": ...}")
			return
		}
		if err := h.say(roomName, name, msg.Text); err != nil {
			conn.Close(websocket.StatusTryAgainLater, "chat bus unavailable")
			return
		}
	}
}
