package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The server side of the broadcast cell: on POST /broadcast the server
// sends count text messages of size bytes to every connection it tracks,
// the library's own way (see each server_*.go), message after message.
// Every process of the bench builds the same messages (broadcastMessage),
// so that each client checks what it received byte for byte.

// broadcastWait bounds a whole broadcast: every write of the server's and
// every read of the clients'.
const broadcastWait = 120 * time.Second

// broadcastFill is the text after a message's sequence number: compressible,
// as a chat or feed message is, and the same for every library.
const broadcastFill = "broadcast message, checked byte for byte by every client; "

// broadcastSeqLen is the length of the hexadecimal sequence number a
// message starts with; it is also the smallest message size.
const broadcastSeqLen = 16

// broadcastMessage writes message i into b: i in hexadecimal, then
// broadcastFill repeated, from an offset that moves with i.
func broadcastMessage(b []byte, i int) {
	const digits = "0123456789abcdef"
	for j := range min(len(b), broadcastSeqLen) {
		b[j] = digits[(i>>(4*(broadcastSeqLen-1-j)))&0xf]
	}
	for j := broadcastSeqLen; j < len(b); j++ {
		b[j] = broadcastFill[(j+i)%len(broadcastFill)]
	}
}

// broadcastMessages is the count messages of a broadcast of size bytes,
// in one allocation besides the slice of them: the server builds them
// within the measured time.
func broadcastMessages(count, size int) [][]byte {
	all := make([]byte, count*size)
	msgs := make([][]byte, count)
	for i := range msgs {
		msgs[i] = all[i*size : (i+1)*size : (i+1)*size]
		broadcastMessage(msgs[i], i)
	}
	return msgs
}

// broadcastReport is the answer to /broadcast, once the server has sent
// every message (or, where the library queues writes, queued it).
type broadcastReport struct {
	Conns     int    `json:"conns"`     // connections at the start
	Delivered int64  `json:"delivered"` // messages the library took for a connection
	Failed    int64  `json:"failed"`    // writes that failed or were passed over
	Err       string `json:"err,omitempty"`
}

// broadcaster sends msgs, in order, to conns (the keys of echoServer.conns)
// the way one library does, and counts the writes that took.
type broadcaster func(conns []any, msgs [][]byte) (delivered, failed int64, err error)

// broadcaster returns lib's way to broadcast.
func (s *echoServer) broadcaster() broadcaster {
	switch {
	case s.lib == "ours-each":
		return broadcastOursEach
	case isOurs(s.lib):
		return broadcastOurs
	case strings.HasPrefix(s.lib, "gorilla"):
		return broadcastGorilla
	case strings.HasPrefix(s.lib, "coder"):
		return broadcastCoder
	case strings.HasPrefix(s.lib, "gws"):
		return broadcastGws
	case strings.HasPrefix(s.lib, "gobwas"):
		return broadcastGobwas
	case strings.HasPrefix(s.lib, "nbio"):
		return broadcastNbio
	}
	return nil
}

// connsOf picks the connections of type T out of the tracked keys.
func connsOf[T any](keys []any) []T {
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		if c, ok := k.(T); ok {
			out = append(out, c)
		}
	}
	return out
}

// broadcast sends count messages of size bytes to every tracked
// connection and reports what the library said about each write. A dry
// run does all but send, so that the driver can take what the harness
// allocates off a broadcast's figures.
func (s *echoServer) broadcast(count, size int, dry bool) broadcastReport {
	send := s.broadcaster()
	if send == nil {
		return broadcastReport{Err: "no broadcast for " + s.lib}
	}
	s.mu.Lock()
	conns := make([]any, 0, len(s.conns))
	for k := range s.conns {
		conns = append(conns, k)
	}
	s.mu.Unlock()
	msgs := broadcastMessages(count, size)
	r := broadcastReport{Conns: len(conns)}
	if dry {
		return r
	}
	var err error
	r.Delivered, r.Failed, err = send(conns, msgs)
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

var errBroadcastArgs = errors.New("want count and size, at least 1 and 16 (bytes)")

// serveBroadcast is POST /broadcast?count=M&size=S[&dry=1]: it answers
// when the broadcast is done.
func (s *echoServer) serveBroadcast(w http.ResponseWriter, r *http.Request) {
	count, err1 := strconv.Atoi(r.URL.Query().Get("count"))
	size, err2 := strconv.Atoi(r.URL.Query().Get("size"))
	if err1 != nil || err2 != nil || count < 1 || size < broadcastSeqLen {
		http.Error(w, errBroadcastArgs.Error(), http.StatusBadRequest)
		return
	}
	rep := s.broadcast(count, size, r.URL.Query().Get("dry") == "1")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rep)
}
