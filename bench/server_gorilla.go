package main

import (
	"io"
	"net/http"
	"time"

	gorilla "github.com/gorilla/websocket"
)

// serveGorilla is gorilla's echo example with NextReader, NextWriter and
// io.Copy (its writer's ReadFrom fills the write buffer directly). Its Close
// only closes TCP, so the close storm sends a close frame and lets this
// loop end when the peer's answer arrives.
func (s *echoServer) serveGorilla(w http.ResponseWriter, r *http.Request) {
	c, err := s.gorilla.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetReadLimit(readLimit)
	s.track(c, func() error {
		_ = c.SetReadDeadline(time.Now().Add(closeWait))
		msg := gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, "")
		return c.WriteControl(gorilla.CloseMessage, msg, time.Now().Add(closeWait))
	})
	defer s.untrack(c)
	for {
		typ, rd, err := c.NextReader()
		if err != nil {
			return
		}
		wr, err := c.NextWriter(typ)
		if err != nil {
			return
		}
		if _, err := io.Copy(wr, rd); err != nil {
			return
		}
		if err := wr.Close(); err != nil {
			return
		}
	}
}
