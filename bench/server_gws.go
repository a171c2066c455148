package main

import (
	"net/http"

	"github.com/lxzan/gws"
)

// serveGws is gws's best practice: the event API, ReadLoop in its own
// goroutine so that net/http's request state can be collected. WriteClose
// sends the close frame and closes TCP at once: it does not wait for the
// peer's answer.
func (s *echoServer) serveGws(w http.ResponseWriter, r *http.Request) {
	c, err := s.gws.Upgrade(w, r)
	if err != nil {
		return
	}
	s.track(c, func() error { return c.WriteClose(1000, nil) })
	go c.ReadLoop()
}

type gwsHandler struct {
	gws.BuiltinEventHandler
	s *echoServer
}

func (h *gwsHandler) OnClose(c *gws.Conn, err error) { h.s.untrack(c) }

func (h *gwsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	_ = c.WriteMessage(m.Opcode, m.Bytes())
	_ = m.Close() // hands the buffer back to gws's pool
}

// broadcastGws uses gws's Broadcaster, one per message: the frame is built
// (and compressed) once, on the first connection of each kind, and queued
// on every connection's write queue, which a goroutine of gws's drains;
// Close hands the frame back to gws's pool when the last write is done.
// delivered counts the messages queued.
func broadcastGws(keys []any, msgs [][]byte) (delivered, failed int64, err error) {
	conns := connsOf[*gws.Conn](keys)
	for _, m := range msgs {
		b := gws.NewBroadcaster(gws.OpcodeText, m)
		for _, c := range conns {
			if b.Broadcast(c) == nil {
				delivered++
			} else {
				failed++
			}
		}
		_ = b.Close()
	}
	return delivered, failed, nil
}
