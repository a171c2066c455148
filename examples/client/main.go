// Command client is a WebSocket client for the terminal: it sends each line
// of its input as a text message and prints every message that comes back.
//
// Try it against the echo example, from the repository root. In one
// terminal, start the server, whose endpoint is /ws:
//
//	go run ./examples/echo
//
// In another, connect, then type lines:
//
//	go run ./examples/client ws://127.0.0.1:8080/ws
//
// The echo server sends every line back, except two commands that make it
// end the connection:
//
//	/close <code> <reason...>   the server's closing handshake, e.g. /close 4001 bye
//	/terminate                  the server drops TCP without a close frame
//
// The client ends the connection itself with 1000 "bye" at the end of its
// input (Ctrl-D), and with 1001 at Ctrl-C or SIGTERM. Either way it prints
// how the connection ended, as a browser's CloseEvent tells it, and exits
// with status 0 when the end was clean, 1 when it was not.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/a60656ec/websocket"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts the closing handshake; a second one kills
	// the program at once, without waiting for it.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// compressionModes are the values of the -compress flag.
var compressionModes = map[string]websocket.CompressionMode{
	"off":        websocket.CompressionDisabled,
	"no-context": websocket.CompressionNoContextTakeover,
	"context":    websocket.CompressionContextTakeover,
}

// run is the whole program but for the process: it connects to the URL
// in args, sends stdin line by line and prints what comes back on stdout,
// until stdin ends, ctx ends (a signal) or the server ends the connection.
// It returns the exit status: 0 for a clean end, 1 for any other, 2 for
// bad arguments.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("client", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: client [flags] ws://host:port/path")
		flags.PrintDefaults()
	}
	subprotocol := flags.String("subprotocol", "", "subprotocol to offer")
	origin := flags.String("origin", "", "Origin header to send, as a browser page would")
	compress := flags.String("compress", "off", "permessage-deflate: off, no-context or context")
	insecure := flags.Bool("insecure", false, "accept any TLS certificate (wss with a self-signed one)")
	timeout := flags.Duration("timeout", 5*time.Second, "how long the closing handshake may take")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	mode, ok := compressionModes[*compress]
	if flags.NArg() != 1 || !ok {
		flags.Usage()
		return 2
	}

	dialer := websocket.Dialer{Compression: mode, CloseTimeout: *timeout}
	if *subprotocol != "" {
		dialer.Subprotocols = []string{*subprotocol}
	}
	if *insecure {
		dialer.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	header := http.Header{}
	if *origin != "" {
		header.Set("Origin", *origin)
	}
	// ctx bounds the dial: Ctrl-C while connecting gives up.
	conn, resp, err := dialer.DialContext(ctx, flags.Arg(0), header)
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			body, _ := io.ReadAll(resp.Body) // at most 1 KiB, already read
			fmt.Fprintf(stderr, "the server said: %s\n", body)
		}
		return 1
	}
	fmt.Fprintf(stderr, "connected to %s (subprotocol %q)\n", conn.RemoteAddr(), conn.Subprotocol())

	// The reader prints every message until the connection ends, however
	// it ends: that is when its read fails.
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			printMessage(stdout, typ, msg)
		}
	}()

	stop := make(chan struct{})
	defer close(stop)
	talk(ctx, conn, readLines(stdin, stop), readerDone, stderr)
	<-readerDone
	<-conn.Done() // at most an instant after the reader's last read
	ev := conn.CloseEvent()
	fmt.Fprintf(stdout, "closed: code %v, reason %q, wasClean %v, initiator %v", ev.Code, ev.Reason, ev.WasClean, ev.Initiator)
	if ev.Err != nil {
		fmt.Fprintf(stdout, ", err: %v", ev.Err)
	}
	fmt.Fprintln(stdout)
	if !ev.WasClean {
		return 1
	}
	return 0
}

// talk sends each line as a text message until the conversation ends: at
// the end of the lines or of ctx, with the closing handshake, which returns
// once the connection has ended; or when the reader stops because the
// server ended it.
func talk(ctx context.Context, conn *websocket.Conn, lines <-chan []byte, readerDone <-chan struct{}, stderr io.Writer) {
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				// Close's error is in the CloseEvent that run prints,
				// which also tells when the server ended the connection
				// first. While Close waits for the server's close frame,
				// the reader prints the messages sent before it; one that
				// arrives while the reader is between two reads, Close
				// discards.
				_ = conn.Close(websocket.StatusNormalClosure, "bye")
				return
			}
			if err := conn.WriteMessage(websocket.TextMessage, line); errors.Is(err, websocket.ErrInvalidUTF8) {
				fmt.Fprintln(stderr, "not sent:", err)
			}
			// Any other error means the connection is ending: the reader
			// stops, and the end is reported.
		case <-ctx.Done():
			_ = conn.Close(websocket.StatusGoingAway, "interrupted")
			return
		case <-readerDone:
			return
		}
	}
}

// readLines sends each line of r on the channel it returns, and closes the
// channel at the end of r. It stops early once stop is closed; a Read that
// blocks keeps its goroutine until it returns, which for a terminal ends
// with the process.
func readLines(r io.Reader, stop <-chan struct{}) <-chan []byte {
	lines := make(chan []byte)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(r)
		for scanner.Scan() {
			select {
			case lines <- []byte(scanner.Text()):
			case <-stop:
				return
			}
		}
	}()
	return lines
}

// maxHex is how many bytes of a binary message are printed.
const maxHex = 32

// printMessage prints a text message as it is, and a binary one as its
// length and its first bytes in hex.
func printMessage(w io.Writer, typ websocket.MessageType, msg []byte) {
	if typ == websocket.TextMessage {
		fmt.Fprintf(w, "%s\n", msg)
		return
	}
	shown, more := msg, ""
	if len(msg) > maxHex {
		shown, more = msg[:maxHex], "..."
	}
	fmt.Fprintf(w, "[binary, %d bytes: %s%s]\n", len(msg), hex.EncodeToString(shown), more)
}
