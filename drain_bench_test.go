package websocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkDrain closes 10,000 connections with one Group.Shutdown and
// reports how long until all had ended and how many closed cleanly. The
// clients run in a child process, each answering the close frame as a
// browser does, so that each process stays within its file limit.
//
//	go test -run '^$' -bench Drain -benchtime 5x
func BenchmarkDrain(b *testing.B) {
	const n = 10_000
	raiseFileLimit()
	for b.Loop() {
		b.StopTimer()
		g := &Group{}
		upgraded := make(chan struct{}, n)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := (&Upgrader{Group: g}).Upgrade(w, r, nil)
			if err != nil {
				return
			}
			upgraded <- struct{}{}
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}))
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), drainClientEnv+"="+srv.Listener.Addr().String(), drainCountEnv+"="+strconv.Itoa(n))
		child.Stderr = os.Stderr
		out, err := child.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		for range n {
			<-upgraded
		}

		b.StartTimer()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := g.Shutdown(ctx, StatusGoingAway, "bench")
		elapsed := time.Since(start)
		cancel()
		b.StopTimer()

		report, _ := io.ReadAll(out)
		if werr := child.Wait(); werr != nil || err != nil {
			b.Fatalf("shutdown: %v; client process: %v", err, werr)
		}
		srv.Close()
		var clientClean int
		fmt.Sscanf(string(report), "clean %d", &clientClean)
		b.ReportMetric(float64(elapsed.Milliseconds()), "ms/drain")
		b.ReportMetric(float64(res.Clean), "clean")
		b.ReportMetric(float64(res.Terminated), "terminated")
		b.ReportMetric(float64(clientClean), "client-clean")
		b.StartTimer()
	}
}

// The child process of BenchmarkDrain is told what to do by these.
const (
	drainClientEnv = "WEBSOCKET_DRAIN_CLIENTS"
	drainCountEnv  = "WEBSOCKET_DRAIN_COUNT"
)

// runDrainClients is the child process: it opens the connections, answers
// each close frame, and prints how many ended cleanly (close frame
// answered, then EOF from the server).
func runDrainClients(addr string, n int) {
	raiseFileLimit()
	var clean atomic.Int64
	var wg sync.WaitGroup
	dials := make(chan struct{}, 200) // bounds the handshakes in flight
	for range n {
		dials <- struct{}{}
		conn, br, err := drainClientDial(addr)
		<-dials
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			os.Exit(1)
		}
		wg.Go(func() {
			defer conn.Close()
			if drainClientAnswer(conn, br) == nil {
				clean.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Printf("clean %d\n", clean.Load())
}

func drainClientDial(addr string) (net.Conn, *bufio.Reader, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, nil, fmt.Errorf("handshake: %v %v", resp, err)
	}
	return conn, br, nil
}

// drainClientAnswer waits for the close frame, echoes it masked, and reads
// until the server's FIN.
func drainClientAnswer(conn net.Conn, br *bufio.Reader) error {
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return err
	}
	if h[0] != fin|wClose || h[1] > 125 {
		return errors.New("not a close frame")
	}
	payload := make([]byte, h[1])
	if _, err := io.ReadFull(br, payload); err != nil {
		return err
	}
	frame := []byte{fin | wClose, 0x80 | h[1], 0, 0, 0, 0} // a zero mask key leaves the payload as it is
	if _, err := conn.Write(append(frame, payload...)); err != nil {
		return err
	}
	if n, err := br.Read(h[:1]); n != 0 || err != io.EOF {
		return fmt.Errorf("want EOF, got %d bytes, %v", n, err)
	}
	return nil
}
