package websocket_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/a60656ec/websocket"
)

// The heartbeat finds peers that have gone silent: the server pings every
// PingInterval and terminates a connection whose peer sends no pong
// within PongTimeout. A client that reads answers pings by itself; here a
// second client opens the connection by hand and then never reads.
func ExampleUpgrader_heartbeat() {
	upgrader := websocket.Upgrader{
		PingInterval: 100 * time.Millisecond,
		PongTimeout:  100 * time.Millisecond, // at most PingInterval
	}
	upgraded := make(chan *websocket.Conn)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, err := upgrader.Upgrade(w, r, nil); err == nil {
			upgraded <- conn
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	// The server reads each connection: the read methods take in the
	// pongs.
	readUntilEnd := func(conn *websocket.Conn) <-chan error {
		ended := make(chan error, 1)
		go func() {
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					ended <- err
					return
				}
			}
		}()
		return ended
	}

	// A client that reads.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws://"+addr, nil)
	if err != nil {
		log.Fatal(err)
	}
	clientEnded := readUntilEnd(client)
	server := <-upgraded
	pongs := make(chan struct{})
	server.SetPongHandler(func(string) error {
		select {
		case pongs <- struct{}{}:
		default: // nobody counting any more
		}
		return nil
	})
	serverEnded := readUntilEnd(server)
	for range 2 {
		<-pongs
	}
	fmt.Println("reading client: 2 pongs, connection open")
	if err := client.Close(websocket.StatusNormalClosure, ""); err != nil {
		log.Fatal(err)
	}
	<-clientEnded
	fmt.Println("its server's read:", websocket.CloseStatus(<-serverEnded))

	// A client that stops reading once it has its 101 response.
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	defer raw.Close()
	_, err = fmt.Fprintf(raw, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(raw), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("silent client:", resp.Status)
	silent := <-upgraded
	err = <-readUntilEnd(silent)
	fmt.Println("its server's read:", websocket.CloseStatus(err), errors.Is(err, websocket.ErrPongTimeout))
	ev := silent.CloseEvent()
	fmt.Println("its CloseEvent:", ev.Code, ev.Initiator, errors.Is(ev.Err, websocket.ErrPongTimeout))
	// Output:
	// reading client: 2 pongs, connection open
	// its server's read: 1000 (normal closure)
	// silent client: 101 Switching Protocols
	// its server's read: 1006 (abnormal closure) true
	// its CloseEvent: 1006 (abnormal closure) local true
}
