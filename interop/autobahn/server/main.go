// Command server is the echo server the Autobahn TestSuite's fuzzing
// client drives (autobahn.sh runs it): every message comes back whole,
// with its type, and the library's own checks (UTF-8 failing fast, close
// codes, the closing handshake) answer the suite's malformed input.
//
//	go run ./autobahn/server -addr 127.0.0.1:9001
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/a60656ec/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "loopback address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	upgrader := &websocket.Upgrader{
		ReadLimit:            64 << 20, // group 9 sends messages of 16 MiB
		Compression:          websocket.CompressionContextTakeover,
		CompressionThreshold: -1, // compress every message, as the suite's own servers do
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, err := upgrader.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			for {
				typ, msg, err := conn.ReadMessage()
				if err != nil {
					return
				}
				if conn.WriteMessage(typ, msg) != nil {
					return
				}
			}
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Printf("listening on ws://%s/", ln.Addr())
	log.Fatal(srv.Serve(ln))
}
