package main

import "strings"

// Event kinds a room's subject carries. Every process that has members in
// the room hears each event once and hands it to its local members.
const (
	kindMessage = "message" // a member said something
	kindJoin    = "join"    // a member connected
	kindLeave   = "leave"   // a member disconnected
	kindHere    = "here"    // a process lists its members, answering a join
)

// event is what travels on a room's NATS subject and, unchanged, over the
// WebSocket to the page: the bytes are framed once per process, so there is
// no per-client envelope.
type event struct {
	Kind  string   `json:"kind"`
	Room  string   `json:"room"`
	From  string   `json:"from,omitempty"`
	Text  string   `json:"text,omitempty"`
	ID    string   `json:"id,omitempty"`
	Names []string `json:"names,omitempty"`
}

// clientMessage is what a page sends: only the text. The server fills in
// the room, the sender and the id, so a client cannot speak for another.
type clientMessage struct {
	Text string `json:"text"`
}

// subjectPrefix namespaces the rooms, so the chat can share a NATS
// cluster with other applications.
const subjectPrefix = "chat.room."

// roomSubject is the NATS subject of a room.
func roomSubject(room string) string { return subjectPrefix + room }

// validName reports whether s can be a room or member name: NATS subjects
// split on dots and stop at spaces and wildcards, so a name is kept to
// letters, digits, '-' and '_', and short.
func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0
}
