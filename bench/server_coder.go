package main

import (
	"context"
	"io"
	"net/http"

	coder "github.com/coder/websocket"
)

// serveCoder is coder's echo example without its rate limiter: Reader,
// Writer and io.Copy. Its Close runs the closing handshake.
func (s *echoServer) serveCoder(w http.ResponseWriter, r *http.Request) {
	c, err := coder.Accept(w, r, &s.coder)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(readLimit)
	s.track(c, func() error { return c.Close(coder.StatusNormalClosure, "") })
	defer s.untrack(c)
	ctx := context.Background()
	for {
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			return
		}
		wr, err := c.Writer(ctx, typ)
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

// broadcastCoder writes each message to one connection after another
// with Write: coder has no prepared message, so each write frames (and,
// with compression, compresses) the message again. One context bounds the
// whole broadcast.
func broadcastCoder(keys []any, msgs [][]byte) (delivered, failed int64, err error) {
	conns := connsOf[*coder.Conn](keys)
	ctx, cancel := context.WithTimeout(context.Background(), broadcastWait)
	defer cancel()
	for _, m := range msgs {
		for _, c := range conns {
			if c.Write(ctx, coder.MessageText, m) == nil {
				delivered++
			} else {
				failed++
			}
		}
	}
	return delivered, failed, nil
}
