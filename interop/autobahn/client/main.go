// Command client is the echo client the Autobahn TestSuite's fuzzing
// server drives (autobahn.sh runs it through the suite's run-client.sh):
// it asks the server how many cases there are, opens one connection per
// case and echoes every message whole, with its type, until the server
// ends it, then asks the server to write its reports. The library's own
// checks (UTF-8 failing fast, close codes, the closing handshake in the
// client's role) answer the suite's malformed input.
//
//	go run ./autobahn/client -agent websocket-client ws://127.0.0.1:9001
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/a60656ec/websocket"
)

func main() {
	agent := flag.String("agent", "websocket-client", "the name the reports give this client")
	caseTimeout := flag.Duration("case-timeout", 60*time.Second, "bound on each case's connection")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [-agent NAME] [-case-timeout D] ws://127.0.0.1:PORT\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	s := suite{base: flag.Arg(0), agent: *agent, caseTimeout: *caseTimeout}

	count, err := s.caseCount()
	if err != nil {
		log.Fatalf("getCaseCount: %v", err)
	}
	log.Printf("%d cases", count)
	for i := 1; i <= count; i++ {
		if err := s.runCase(i); err != nil {
			log.Printf("case %d ended: %v", i, err)
		}
	}
	if err := s.updateReports(); err != nil {
		log.Fatalf("updateReports: %v", err)
	}
}

// suite talks to the fuzzing server at base.
type suite struct {
	base        string
	agent       string
	caseTimeout time.Duration
}

// dialer is the client every case runs: messages up to 64 MiB (group 9
// sends 16 MiB), compression offered with context takeover for groups 12
// and 13, every message compressed, as the suite's own clients do.
var dialer = websocket.Dialer{
	ReadLimit:            64 << 20,
	Compression:          websocket.CompressionContextTakeover,
	CompressionThreshold: -1,
}

// caseCount reads the number of cases: one text message, then the close.
func (s suite) caseCount() (int, error) {
	var count int
	err := s.session("getCaseCount", nil, func(conn *websocket.Conn) error {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		if count, err = strconv.Atoi(string(msg)); err != nil {
			return fmt.Errorf("the case count %q is not a number", msg)
		}
		return drain(conn)
	})
	return count, err
}

// runCase echoes every message of case i until the server ends the
// connection.
func (s suite) runCase(i int) error {
	query := url.Values{"case": {strconv.Itoa(i)}, "agent": {s.agent}}
	return s.session("runCase", query, func(conn *websocket.Conn) error {
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return ended(err)
			}
			if err := conn.WriteMessage(typ, msg); err != nil {
				// The next read says how the connection ended.
				continue
			}
		}
	})
}

// updateReports asks the server to write the reports for our agent.
func (s suite) updateReports() error {
	return s.session("updateReports", url.Values{"agent": {s.agent}}, drain)
}

// session opens a connection to path?query, runs f on it, and bounds the
// whole by the case timeout: past it the connection is terminated, which
// ends any read.
func (s suite) session(path string, query url.Values, f func(*websocket.Conn) error) error {
	u := strings.TrimSuffix(s.base, "/") + "/" + path
	if query != nil {
		u += "?" + query.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.caseTimeout)
	defer cancel()
	conn, _, err := dialer.DialContext(ctx, u, nil)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Terminate() })
	defer stop()
	err = f(conn)
	if ctx.Err() != nil {
		return fmt.Errorf("terminated after %v: %w", s.caseTimeout, err)
	}
	return err
}

// drain reads until the server ends the connection.
func drain(conn *websocket.Conn) error {
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return ended(err)
		}
	}
}

// ended turns the reader's final error into nil for a close the server
// started and completed, the normal end of every session.
func ended(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.StatusAbnormalClosure {
		return nil
	}
	return err
}
