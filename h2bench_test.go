//go:build linux

package websocket

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkEchoOverHTTP is the price of HTTP/2: an echo round trip of
// one message through Dial and Upgrade over HTTP/1.1 (a TCP connection
// of its own) beside the same over HTTP/2 (a stream of an h2c
// connection, x/net's client transport, net/http's server). Both ends
// run in this process, so cpu-µs/op and allocs/op are the client's and
// the server's together; -cpu 1 keeps the CPU figure from counting
// goroutine hand-offs between cores.
func BenchmarkEchoOverHTTP(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		for _, proto := range []string{"http1.1", "http2"} {
			b.Run(fmt.Sprintf("%s/%dB", proto, size), func(b *testing.B) {
				srv := startH2Server(b, &Upgrader{})
				d := &Dialer{}
				if proto == "http2" {
					d.HTTP2Transport = h2Transport(b)
				}
				client, _, err := d.DialContext(context.Background(), "ws://"+srv.srv.Listener.Addr().String()+"/ws", nil)
				if err != nil {
					b.Fatal(err)
				}
				server, _ := srv.conn(b)
				go echoUntilEnd(server)
				defer func() {
					_ = client.Close(StatusNormalClosure, "")
					<-server.Done()
				}()
				msg := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				start := cpuTime()
				for b.Loop() {
					if err := client.WriteMessage(BinaryMessage, msg); err != nil {
						b.Fatal(err)
					}
					if _, _, err := client.ReadMessage(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// echoUntilEnd echoes every message c reads until it ends.
func echoUntilEnd(c *Conn) {
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

// cpuTime is the CPU time, user and system, this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
