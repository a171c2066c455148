package websocket_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/a60656ec/websocket"
)

// A client: dial a server (here an echo server of this package on
// loopback), send a message, read the answer, and close.
func ExampleDial() {
	var upgrader websocket.Upgrader
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			_ = conn.WriteMessage(typ, msg)
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+srv.Listener.Addr().String()+"/echo", nil)
	if err != nil {
		// A refusal wraps ErrBadHandshake; the response says more.
		log.Fatal(err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	_, msg, err := conn.ReadMessage()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", msg)
	// Close sends the close frame, waits for the server's, then for the
	// server to close TCP.
	if err := conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		log.Fatal(err)
	}
	ev := conn.CloseEvent()
	fmt.Println(ev.Code, ev.Reason, ev.WasClean)
	// Output:
	// hello
	// 1000 (normal closure) bye true
}

// An echo handler: read each message and send it back, until the peer
// closes.
func ExampleUpgrader_Upgrade() {
	var upgrader websocket.Upgrader // the zero value has sane defaults
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			log.Print(err) // the client already got an HTTP error
			return
		}
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				log.Printf("connection ended: %v", err)
				return
			}
			if err := conn.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	})
}

// A chat-style server with many mostly idle connections: Serve reads each
// connection in the background, so that one waiting for its peer holds no
// goroutine and no buffer, and the handler returns at once.
func ExampleConn_Serve() {
	var upgrader websocket.Upgrader
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		err = conn.Serve(func(typ websocket.MessageType, msg io.Reader) {
			w, err := conn.NextWriter(typ)
			if err != nil {
				return // the connection is closing
			}
			_, _ = io.Copy(w, msg)
			_ = w.Close()
		}, func(ev websocket.CloseEvent) {
			log.Printf("%v ended: code %d, clean %v", conn.RemoteAddr(), ev.Code, ev.WasClean)
		})
		if err != nil {
			log.Print(err)
		}
	})
}

// Close runs the closing handshake from any goroutine while another goes on
// reading: the reader receives what the peer sent before its close frame.
// Here a client subscribes, the server sends it one update and closes;
// the client answers the update before it reads the close frame, and the
// server's reader still gets that answer.
func ExampleConn_Close() {
	var upgrader websocket.Upgrader
	serverSaw := make(chan []string)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		var saw []string
		subscribed := make(chan struct{})
		readerDone := make(chan struct{})
		go func() { // the read loop, for the whole life of the connection
			defer close(readerDone)
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil { // a *CloseError once the handshake is over
					saw = append(saw, fmt.Sprint("read ", err))
					return
				}
				saw = append(saw, "read "+string(msg))
				if string(msg) == "subscribe" {
					close(subscribed)
				}
			}
		}()
		<-subscribed
		_ = conn.WriteMessage(websocket.TextMessage, []byte("the only update"))
		err = conn.Close(websocket.StatusNormalClosure, "done") // TCP is closed, whatever it returns
		<-readerDone
		serverSaw <- append(saw, fmt.Sprint("Close returned ", err))
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+srv.Listener.Addr().String(), nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("subscribe")); err != nil {
		log.Fatal(err)
	}
	_, msg, err := conn.ReadMessage()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("client: read", string(msg))
	if err := conn.WriteMessage(websocket.TextMessage, []byte("thanks")); err != nil {
		log.Fatal(err)
	}
	_, _, err = conn.ReadMessage() // the server's close frame, answered
	fmt.Println("client: read", err)
	ev := conn.CloseEvent()
	fmt.Println("client: clean", ev.WasClean, "started by the", ev.Initiator)
	for _, line := range <-serverSaw {
		fmt.Println("server:", line)
	}
	// Output:
	// client: read the only update
	// client: read websocket: closed: 1000 (normal closure) "done"
	// client: clean true started by the peer
	// server: read subscribe
	// server: read thanks
	// server: read websocket: closed: 1000 (normal closure) "done"
	// server: Close returned <nil>
}

// CloseStatus reads the peer's close code out of a read error.
func ExampleCloseStatus() {
	err := fmt.Errorf("read: %w", &websocket.CloseError{Code: websocket.StatusGoingAway, Reason: "restart"})
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		fmt.Println("peer left:", websocket.CloseStatus(err))
	case 0:
		fmt.Println("not a close")
	default:
		fmt.Println("closed with", websocket.CloseStatus(err))
	}
	// Output: peer left: 1001 (going away)
}

// Fan-out: a message framed once, and compressed at most once, goes to
// every client. (Here the clients are dialled on loopback; a server keeps
// the connections its handler upgraded.)
func ExampleNewPreparedMessage() {
	var upgrader websocket.Upgrader
	upgraded := make(chan *websocket.Conn)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := upgrader.Upgrade(w, r, nil); err == nil {
			upgraded <- c
		}
	}))
	defer srv.Close()
	var clients, servers []*websocket.Conn
	for range 3 {
		c, _, err := websocket.Dial(context.Background(), "ws"+srv.URL[len("http"):], nil)
		if err != nil {
			log.Fatal(err)
		}
		defer c.Terminate()
		clients, servers = append(clients, c), append(servers, <-upgraded)
	}

	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte(`{"ACME":101.25}`))
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range servers {
		if err := s.WritePreparedMessage(pm); err != nil {
			log.Print(err) // this connection has ended; the others go on
		}
	}
	for _, c := range clients {
		_, msg, _ := c.ReadMessage()
		fmt.Println(string(msg))
	}
	for _, s := range servers {
		_ = s.Terminate()
	}
	// Output:
	// {"ACME":101.25}
	// {"ACME":101.25}
	// {"ACME":101.25}
}

// HTTP/1.1 over a WebSocket: each side wraps its Conn in a net.Conn and
// speaks HTTP through it, as SSH or HTTP/2 could.
func ExampleNetConn() {
	var upgrader websocket.Upgrader
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		nc, err := websocket.NetConn(conn, websocket.BinaryMessage)
		if err != nil {
			return
		}
		defer nc.Close() // the closing handshake, with 1000
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return
		}
		body := "hello from " + req.URL.Path
		resp := &http.Response{
			StatusCode: http.StatusOK, ProtoMajor: 1, ProtoMinor: 1,
			ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body)),
		}
		_ = resp.Write(nc)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+srv.Listener.Addr().String()+"/tunnel", nil)
	if err != nil {
		log.Fatal(err)
	}
	nc, err := websocket.NetConn(conn, websocket.BinaryMessage)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	// A deadline that passes fails the Read or Write, not the connection.
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := http.NewRequest("GET", "http://tunnel/inside", nil)
	if err := req.Write(nc); err != nil {
		log.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// The server's Close ends the stream: io.EOF.
	_, err = nc.Read(make([]byte, 1))
	fmt.Println(err == io.EOF)
	// Output:
	// 200 OK hello from /inside
	// true
}
