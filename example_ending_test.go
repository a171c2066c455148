package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"time"

	"github.com/a60656ec/websocket"
)

// Terminate is for a peer that stopped answering: no close frame, no
// wait. Here the server pings a client that has stopped reading, gives up
// when the ping's context ends, and drops the connection; then each side
// tells how the connection ended.
func ExampleConn_Terminate() {
	var upgrader websocket.Upgrader
	upgraded := make(chan *websocket.Conn)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, err := upgrader.Upgrade(w, r, nil); err == nil {
			upgraded <- conn
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws://"+srv.Listener.Addr().String(), nil)
	if err != nil {
		log.Fatal(err)
	}
	server := <-upgraded

	// Pongs are read by the read methods, so the server reads, as it
	// would anyway.
	serverRead := make(chan error, 1)
	go func() {
		for {
			if _, _, err := server.ReadMessage(); err != nil {
				serverRead <- err
				return
			}
		}
	}()

	// The client reads nothing for now, so no pong comes back.
	pingCtx, cancelPing := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelPing()
	err = server.Ping(pingCtx, []byte("still there?"))
	if !errors.Is(err, context.DeadlineExceeded) {
		log.Fatal(err) // a pong came, or the connection ended
	}
	fmt.Println("no pong; Terminate returns", server.Terminate())
	err = <-serverRead
	fmt.Println("server's read:", websocket.CloseStatus(err), errors.Is(err, websocket.ErrTerminated))
	ev := server.CloseEvent()
	fmt.Println("server's CloseEvent:", ev.Code, ev.WasClean, ev.Initiator, errors.Is(ev.Err, websocket.ErrTerminated))

	// The client finds TCP closed without a close frame: 1006, as a
	// browser would report it.
	_, _, err = client.ReadMessage()
	fmt.Println("client's read:", websocket.CloseStatus(err))
	ev = client.CloseEvent()
	fmt.Println("client's CloseEvent:", ev.Code, ev.WasClean, ev.Initiator)

	// Terminate again: the connection had already ended.
	fmt.Println(errors.Is(server.Terminate(), net.ErrClosed))
	// Output:
	// no pong; Terminate returns <nil>
	// server's read: 1006 (abnormal closure) true
	// server's CloseEvent: 1006 (abnormal closure) false local true
	// client's read: 1006 (abnormal closure)
	// client's CloseEvent: 1006 (abnormal closure) false peer
	// true
}

// A server going away closes every connection of its Group with one
// code, running the closing handshakes at once, and refuses new ones
// meanwhile. Here three clients listen until the server shuts down.
func ExampleGroup_Shutdown() {
	var group websocket.Group
	upgrader := websocket.Upgrader{Group: &group} // every Conn joins the group
	upgraded := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // while the group drains: HTTP 503
		}
		upgraded <- struct{}{}
		// A feed: the server only writes, and Serve reads the clients'
		// close frames.
		_ = conn.Serve(func(websocket.MessageType, io.Reader) {}, nil)
	}))
	defer srv.Close()
	url := "ws://" + srv.Listener.Addr().String()

	seen := make(chan string)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		client, _, err := websocket.Dial(ctx, url, nil)
		cancel()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			for {
				if _, _, err := client.ReadMessage(); err != nil {
					ev := client.CloseEvent() // set: the read returned the final error
					seen <- fmt.Sprintf("%v %q clean=%v", websocket.CloseStatus(err), ev.Reason, ev.WasClean)
					return
				}
			}
		}()
	}
	// A Conn joins the group as Upgrade returns, which can be after the
	// client's Dial has returned.
	for range 3 {
		<-upgraded
	}
	fmt.Println("connections:", group.Len())

	// Shutdown returns once every connection has ended; ctx bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := group.Shutdown(ctx, websocket.StatusServiceRestart, "deploying")
	fmt.Printf("%+v %v\n", res, err)
	var clients []string
	for range 3 {
		clients = append(clients, <-seen)
	}
	slices.Sort(clients) // the clients end in any order
	for _, c := range clients {
		fmt.Println("a client saw", c)
	}

	// The group drains for good: a new client is turned away.
	_, resp, err := websocket.Dial(ctx, url, nil)
	if resp == nil {
		log.Fatal(err) // not even an HTTP answer
	}
	fmt.Println(errors.Is(err, websocket.ErrBadHandshake), resp.Status)
	// Output:
	// connections: 3
	// {Clean:3 Terminated:0} <nil>
	// a client saw 1012 (service restart) "deploying" clean=true
	// a client saw 1012 (service restart) "deploying" clean=true
	// a client saw 1012 (service restart) "deploying" clean=true
	// true 503 Service Unavailable
}

// A read bounded by a context, as coder/websocket's Read(ctx) is: when the
// context ends first, Terminate ends the connection, which ends the read.
// The connection cannot outlive an abandoned read, since part of a frame
// may have arrived. (For a deadline alone, SetReadDeadline with
// ctx.Deadline() does the same.)
func ExampleConn_ReadMessage_context() {
	srv := startEchoServer(websocket.Upgrader{}) // answers each message, sends nothing unasked
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}

	readWithContext := func(ctx context.Context) ([]byte, error) {
		stop := context.AfterFunc(ctx, func() { _ = conn.Terminate() })
		defer stop()
		_, msg, err := conn.ReadMessage()
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return msg, err
	}

	// The answer comes before the context ends: the connection stays.
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	readCtx, cancelRead := context.WithTimeout(context.Background(), time.Second)
	msg, err := readWithContext(readCtx)
	cancelRead()
	fmt.Printf("%s %v\n", msg, err)

	// Nothing comes: the context ends the read, and the connection.
	readCtx, cancelRead = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelRead()
	_, err = readWithContext(readCtx)
	fmt.Println(errors.Is(err, context.DeadlineExceeded), websocket.CloseStatus(err), errors.Is(err, websocket.ErrTerminated))
	// Output:
	// hello <nil>
	// true 1006 (abnormal closure) true
}

// A read deadline ends the connection when it passes, unlike a net.Conn's:
// the read may have stopped inside a frame. It suits a deadline taken from
// a context, or one moved on after each message to end a peer that went
// quiet.
func ExampleConn_SetReadDeadline() {
	srv := startEchoServer(websocket.Upgrader{}) // sends nothing unasked
	defer srv.Close()
	conn, _, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetReadDeadline(deadline); err != nil {
			log.Fatal(err)
		}
	}
	_, _, err = conn.ReadMessage()
	fmt.Println(websocket.CloseStatus(err), errors.Is(err, os.ErrDeadlineExceeded))
	ev := conn.CloseEvent()
	fmt.Println(ev.Code, ev.Initiator, errors.Is(ev.Err, os.ErrDeadlineExceeded))
	// Output:
	// 1006 (abnormal closure) true
	// 1006 (abnormal closure) local true
}
