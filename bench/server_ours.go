package main

import (
	"context"
	"io"
	"net/http"

	ours "github.com/a60656ec/websocket"
)

// serveOurs streams each message through NextReader and NextWriter, as
// gorilla's users do, in a goroutine of its own so that the handler
// returns, as the library's README advises for many idle connections.
func (s *echoServer) serveOurs(w http.ResponseWriter, r *http.Request) {
	c, err := s.ours.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.track(c, func() error { return c.Close(ours.StatusNormalClosure, "") })
	switch s.lib {
	case "ours-handler":
		s.echoOurs(c)
	case "ours-serve":
		err = c.Serve(func(typ ours.MessageType, r io.Reader) {
			w, err := c.NextWriter(typ)
			if err != nil {
				return // Close has started
			}
			_, _ = io.Copy(w, r)
			_ = w.Close()
		}, func(ours.CloseEvent) { s.untrack(c) })
		if err != nil {
			panic(err) // Serve fails only when called twice
		}
	default:
		go s.echoOurs(c)
	}
}

func (s *echoServer) echoOurs(c *ours.Conn) {
	defer s.untrack(c)
	var buf []byte
	if s.lib == "ours-cb" {
		buf = make([]byte, 32<<10)
	}
	for {
		typ, rd, err := c.NextReader()
		if err != nil {
			return // the connection has ended
		}
		wr, err := c.NextWriter(typ)
		if err != nil {
			// Writes stop once Close has started; Close, or the peer's
			// close frame, ends the connection.
			return
		}
		if buf != nil {
			_, err = io.CopyBuffer(wr, rd, buf)
		} else {
			_, err = io.Copy(wr, rd)
		}
		if cerr := wr.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return
		}
	}
}

// serveOursMsg is the README's quick start: ReadMessage and WriteMessage.
func (s *echoServer) serveOursMsg(w http.ResponseWriter, r *http.Request) {
	c, err := s.ours.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.track(c, func() error { return c.Close(ours.StatusNormalClosure, "") })
	defer s.untrack(c)
	for {
		typ, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(typ, msg); err != nil {
			return
		}
	}
}

// broadcastOurs is the library's fan-out: each message prepared once
// (framed once, and compressed once when the connections compress
// without context takeover), then all of them written by one Broadcast,
// since they are all at hand: each connection gets them in as few writes
// as its socket takes, and Broadcast writes to up to 64 connections at
// once and bounds each connection's writes. delivered counts messages.
func broadcastOurs(keys []any, msgs [][]byte) (delivered, failed int64, err error) {
	conns := connsOf[*ours.Conn](keys)
	ctx, cancel := context.WithTimeout(context.Background(), broadcastWait)
	defer cancel()
	pms := make([]*ours.PreparedMessage, len(msgs))
	for i, m := range msgs {
		if pms[i], err = ours.NewPreparedMessage(ours.TextMessage, m); err != nil {
			return 0, 0, err
		}
	}
	res, err := ours.Broadcast(ctx, conns, pms...)
	n := int64(len(msgs))
	return n * int64(res.Delivered), n * int64(res.Skipped+res.Terminated+res.Failed), err
}

// broadcastOursEach is broadcastOurs with one Broadcast per message, as a
// server whose messages come one at a time writes them.
func broadcastOursEach(keys []any, msgs [][]byte) (delivered, failed int64, err error) {
	conns := connsOf[*ours.Conn](keys)
	ctx, cancel := context.WithTimeout(context.Background(), broadcastWait)
	defer cancel()
	for _, m := range msgs {
		pm, err := ours.NewPreparedMessage(ours.TextMessage, m)
		if err != nil {
			return delivered, failed, err
		}
		res, err := ours.Broadcast(ctx, conns, pm)
		delivered += int64(res.Delivered)
		failed += int64(res.Skipped + res.Terminated + res.Failed)
		if err != nil {
			return delivered, failed, err
		}
	}
	return delivered, failed, nil
}
