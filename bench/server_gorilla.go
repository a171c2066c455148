package main

import (
	"io"
	"net/http"
	"sync"
	"time"

	gorilla "github.com/gorilla/websocket"
)

// serveGorilla is gorilla's echo example with NextReader, NextWriter and
// io.Copy (its writer's ReadFrom fills the write buffer directly). Its Close
// only closes TCP, so the close storm sends a close frame and lets this
// loop end when the peer's answer arrives.
//
// A gorilla connection takes one writer at a time (it panics on a second),
// so the echo and the broadcast cell's writes take the connection's lock,
// as gorilla's docs ask of applications with more than one writer.
func (s *echoServer) serveGorilla(w http.ResponseWriter, r *http.Request) {
	conn, err := s.gorilla.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gorillaConn{Conn: conn}
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
		if err := c.echo(typ, rd); err != nil {
			return
		}
	}
}

// gorillaConn is a gorilla connection and the lock of its writers.
type gorillaConn struct {
	*gorilla.Conn
	wmu sync.Mutex
}

// echo writes what rd reads as one message of type typ.
func (c *gorillaConn) echo(typ int, rd io.Reader) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	wr, err := c.NextWriter(typ)
	if err != nil {
		return err
	}
	if _, err := io.Copy(wr, rd); err != nil {
		return err
	}
	return wr.Close()
}

// broadcastGorilla writes each message, prepared once as gorilla's
// PreparedMessage (framed, and compressed, once per kind of connection),
// to one connection after another, under its write lock. A write
// deadline set once bounds the whole broadcast.
func broadcastGorilla(keys []any, msgs [][]byte) (delivered, failed int64, err error) {
	conns := connsOf[*gorillaConn](keys)
	deadline := time.Now().Add(broadcastWait)
	for _, c := range conns {
		c.wmu.Lock()
		_ = c.SetWriteDeadline(deadline)
		c.wmu.Unlock()
	}
	for _, m := range msgs {
		pm, err := gorilla.NewPreparedMessage(gorilla.TextMessage, m)
		if err != nil {
			return delivered, failed, err
		}
		for _, c := range conns {
			c.wmu.Lock()
			err := c.WritePreparedMessage(pm)
			c.wmu.Unlock()
			if err == nil {
				delivered++
			} else {
				failed++
			}
		}
	}
	return delivered, failed, nil
}
