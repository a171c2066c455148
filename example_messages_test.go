package websocket_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/a60656ec/websocket"
)

// permessage-deflate is negotiated when both sides turn it on: here the
// server (an Upgrader with Compression set, echoing every message) and a
// Dialer. The server's answer is in the response Dial returns; messages
// are compressed on the wire and read back as they were written.
func ExampleCompressionMode() {
	srv := startEchoServer(websocket.Upgrader{Compression: websocket.CompressionNoContextTakeover})
	defer srv.Close()

	dialer := websocket.Dialer{Compression: websocket.CompressionNoContextTakeover}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := dialer.DialContext(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Header.Get("Sec-WebSocket-Extensions"))

	// Above CompressionThreshold (128 bytes by default), so compressed.
	report := strings.Repeat(`{"sensor":"t1","celsius":21.5},`, 100)
	if err := conn.WriteMessage(websocket.TextMessage, []byte(report)); err != nil {
		log.Fatal(err)
	}
	typ, echoed, err := conn.ReadMessage()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(typ, len(echoed), string(echoed) == report)
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		log.Fatal(err)
	}
	// Output:
	// permessage-deflate; server_no_context_takeover; client_no_context_takeover
	// text 3100 true
}

// Streaming a message: NextWriter's writer takes the payload piece by
// piece, so io.Copy can send a reader of any length (a file, an HTTP
// body) without holding it whole; NextReader's reader gives the payload
// back as it arrives. Here a client streams 300 000 bytes to an echo
// server and streams the echo into a hash.
func ExampleConn_NextWriter() {
	srv := startEchoServer(websocket.Upgrader{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}

	file := bytes.NewReader(bytes.Repeat([]byte("0123456789"), 30_000))
	sent := sha256.New()
	w, err := conn.NextWriter(websocket.BinaryMessage)
	if err != nil {
		log.Fatal(err)
	}
	n, err := io.Copy(w, io.TeeReader(file, sent))
	if err != nil {
		log.Fatal(err)
	}
	// Close sends the final fragment: until then the peer has no message.
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent", n, "bytes")

	_, r, err := conn.NextReader()
	if err != nil {
		log.Fatal(err)
	}
	received := sha256.New()
	n, err = io.Copy(received, r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("received", n, "bytes, the same:", bytes.Equal(sent.Sum(nil), received.Sum(nil)))
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		log.Fatal(err)
	}
	// Output:
	// sent 300000 bytes
	// received 300000 bytes, the same: true
}

// reading is the value the JSON examples send: a sensor's reading.
type reading struct {
	Sensor  string    `json:"sensor"`
	Celsius float64   `json:"celsius"`
	At      time.Time `json:"at"`
}

// A value goes out as one text message of JSON and comes back into a
// struct; here through an echo server.
func ExampleConn_WriteJSON() {
	srv := startEchoServer(websocket.Upgrader{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}

	out := reading{Sensor: "t1", Celsius: 21.5, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := conn.WriteJSON(out); err != nil {
		log.Fatal(err)
	}
	var in reading
	if err := conn.ReadJSON(&in); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", in)
	fmt.Println(in == out)

	// A value encoding/json cannot encode sends nothing.
	err = conn.WriteJSON(map[string]any{"bad": make(chan int)})
	var unsupported *json.UnsupportedTypeError
	fmt.Println(errors.As(err, &unsupported))
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {Sensor:t1 Celsius:21.5 At:2026-01-02 03:04:05 +0000 UTC}
	// true
	// true
}

// A message that is not JSON fails only its own ReadJSON: the connection
// stays open and the next message decodes.
func ExampleConn_ReadJSON() {
	srv := startEchoServer(websocket.Upgrader{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}

	for _, msg := range []string{`hello`, `{"sensor":"t2","celsius":-3}`} {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			log.Fatal(err)
		}
	}
	for range 2 {
		var r reading
		err := conn.ReadJSON(&r)
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax):
			fmt.Println("not JSON:", err)
		case err != nil:
			log.Fatal(err) // the connection has ended
		default:
			fmt.Println(r.Sensor, r.Celsius)
		}
	}
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		log.Fatal(err)
	}
	// Output:
	// not JSON: websocket: read JSON: invalid character 'h' looking for beginning of value
	// t2 -3
}
