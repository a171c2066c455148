package websocket

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statsUpgrader is u counting into a fresh Stats and handing every end
// to the returned channel.
func statsUpgrader(u Upgrader) (*Upgrader, *Stats, <-chan ConnEnd) {
	stats := new(Stats)
	ends := make(chan ConnEnd, 16)
	u.Stats = stats
	u.OnEnd = func(e ConnEnd) { ends <- e }
	return &u, stats, ends
}

// TestStatsEndings drives every way a connection ends and checks the one
// Ending counted, the hook's ConnEnd, and whether a closing handshake was
// timed.
func TestStatsEndings(t *testing.T) {
	tests := []struct {
		name      string
		u         Upgrader
		run       func(t *testing.T, p *peer, c *Conn, g *Group)
		want      Ending
		handshake bool // a close frame was sent or received: the duration is counted
	}{
		{"peer close", Upgrader{}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			readAll(c)
			p.sendClose(1000, "bye")
			p.wantClose(1000)
			p.wantEOF()
		}, Ending{1000, true, SidePeer, CausePeerClose}, true},
		{"Close", Upgrader{}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			go func() { _ = c.Close(4001, "done") }()
			p.wantClose(4001)
			p.sendClose(4001, "done")
			p.wantEOF()
		}, Ending{4001, true, SideLocal, CauseClose}, true},
		{"drain", Upgrader{}, func(t *testing.T, p *peer, c *Conn, g *Group) {
			go func() { _, _ = g.Shutdown(context.Background(), StatusServiceRestart, "deploy") }()
			p.wantClose(StatusServiceRestart)
			p.sendClose(StatusServiceRestart, "deploy")
			p.wantEOF()
		}, Ending{StatusServiceRestart, true, SideLocal, CauseDrain}, true},
		{"drain cut at its deadline", Upgrader{}, func(t *testing.T, p *peer, c *Conn, g *Group) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			go func() { _, _ = g.Shutdown(ctx, StatusGoingAway, "") }()
			p.wantClose(StatusGoingAway) // and no answer
			<-c.Done()
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseDrain}, true},
		{"Terminate", Upgrader{}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			require.NoError(t, c.Terminate())
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseTerminate}, false},
		{"close timeout", Upgrader{CloseTimeout: time.Second}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			go func() { _ = c.Close(1000, "") }()
			p.wantClose(1000) // and no answer
			<-c.Done()
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseCloseTimeout}, true},
		{"pong timeout", Upgrader{PingInterval: time.Second}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			readAll(c)
			f, err := p.readFrame() // the ping, never answered
			require.NoError(t, err)
			require.Equal(t, byte(fin|wPing), f.first)
			<-c.Done()
		}, Ending{StatusAbnormalClosure, false, SideLocal, CausePongTimeout}, false},
		{"write timeout", Upgrader{WriteTimeout: time.Second}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			// The peer reads nothing: the write blocks until its timeout.
			err := c.WriteMessage(BinaryMessage, make([]byte, 1000))
			require.ErrorIs(t, err, ErrWriteTimeout)
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseWriteTimeout}, false},
		{"frame timeout", Upgrader{FrameTimeout: time.Second}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			readAll(c)
			p.sendRaw(p.frame(fin|wBinary, make([]byte, 10))[:8]) // part of a frame
			<-c.Done()
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseFrameTimeout}, false},
		{"read deadline", Upgrader{}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Second)))
			readAll(c)
			<-c.Done()
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseReadDeadline}, false},
		{"read limit: 1009", Upgrader{ReadLimit: 10}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			readAll(c)
			p.send(fin|wBinary, make([]byte, 11))
			p.wantClose(StatusMessageTooBig)
			p.wantEOF() // the server does not wait for an answer after a violation
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseMessageTooBig}, true},
		{"protocol error: 1002", Upgrader{}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			readAll(c)
			p.send(fin|0x3, nil) // a reserved opcode
			p.wantClose(StatusProtocolError)
			p.wantEOF()
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseProtocolError}, true},
		{"bad UTF-8: 1007", Upgrader{}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			readAll(c)
			p.send(fin|wText, []byte("ok\xff"))
			p.wantClose(StatusInvalidFramePayloadData)
			p.wantEOF()
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseInvalidUTF8}, true},
		{"pong handler fails", Upgrader{}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			c.SetPongHandler(func(string) error { return io.ErrUnexpectedEOF })
			readAll(c)
			p.send(fin|wPong, nil)
			<-c.Done()
		}, Ending{StatusAbnormalClosure, false, SideLocal, CauseHandlerError}, false},
		{"peer gone", Upgrader{}, func(t *testing.T, p *peer, c *Conn, _ *Group) {
			readAll(c)
			p.conn.Close()
			<-c.Done()
		}, Ending{StatusAbnormalClosure, false, SidePeer, CausePeerGone}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := new(Group)
				tt.u.Group = g
				u, stats, ends := statsUpgrader(tt.u)
				p, c := pipeConn(t, u)
				tt.run(t, p, c, g)
				ev := wantDone(t, c)

				snap := stats.Snapshot()
				assert.Equal(t, map[Ending]uint64{tt.want: 1}, snap.Ended, "CloseEvent %+v", ev)
				assert.Equal(t, 0, snap.Open)
				assert.Equal(t, uint64(1), snap.Opened)
				want := uint64(0)
				if tt.handshake {
					want = 1
				}
				assert.Equal(t, want, snap.CloseDurations.Count, "closing handshakes timed")

				end := <-ends
				assert.Equal(t, ev, end.Event)
				assert.Equal(t, tt.want.Cause, end.Cause)
				assert.Equal(t, tt.handshake, end.CloseDuration > 0)
				assert.Equal(t, c.RemoteAddr(), end.RemoteAddr)
			})
		})
	}
}

// TestStatsRefusals: every refused handshake is counted by status and
// reason.
func TestStatsRefusals(t *testing.T) {
	g := new(Group)
	u, stats, _ := statsUpgrader(Upgrader{Group: g})
	srv, _ := startServer(t, u)
	good := http.Header{
		"Upgrade": {"websocket"}, "Connection": {"Upgrade"},
		"Sec-Websocket-Key": {testKey}, "Sec-Websocket-Version": {"13"},
	}
	with := func(k, v string) http.Header {
		h := good.Clone()
		if v == "" {
			delete(h, k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	requests := []struct {
		method string
		header http.Header
		body   string
	}{
		{"POST", good, ""},
		{"GET", with("Upgrade", ""), ""},
		{"GET", with("Connection", "keep-alive"), ""},
		{"GET", with("Sec-Websocket-Version", "12"), ""},
		{"GET", with("Sec-Websocket-Key", ""), ""},
		{"GET", with("Origin", "http://elsewhere.example"), ""},
		{"GET", good, "a body"},
	}
	send := func(method string, h http.Header, body string) int {
		req, err := http.NewRequest(method, srv.URL, strings.NewReader(body))
		require.NoError(t, err)
		if body == "" {
			req.Body = nil
		}
		req.Header = h
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, r := range requests {
		require.NotEqual(t, http.StatusSwitchingProtocols, send(r.method, r.header, r.body))
	}
	_, err := g.Shutdown(context.Background(), StatusGoingAway, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, send("GET", good, ""))

	assert.Equal(t, map[Refusal]uint64{
		{405, RefusalMethod}:           1,
		{400, RefusalUpgradeHeader}:    1,
		{400, RefusalConnectionHeader}: 1,
		{426, RefusalVersion}:          1,
		{400, RefusalKey}:              1,
		{403, RefusalOrigin}:           1,
		{400, RefusalBody}:             1,
		{503, RefusalShuttingDown}:     1,
	}, stats.Snapshot().Refused)
}

// TestStatsTraffic: what a client counts going out, the server counts
// coming in, and the other way round, compressed or not; the numbers of
// messages and their sizes are the ones sent.
func TestStatsTraffic(t *testing.T) {
	u, server, serverEnds := statsUpgrader(Upgrader{Compression: CompressionContextTakeover})
	srv, conns := startServer(t, u)
	client := new(Stats)
	d := &Dialer{Stats: client, Compression: CompressionContextTakeover}
	ctx, cancel := context.WithTimeout(context.Background(), wireTimeout)
	defer cancel()
	cc, _, err := d.DialContext(ctx, "ws://"+srv.Listener.Addr().String()+"/", nil)
	require.NoError(t, err)
	sc := <-conns
	go func() { // echo
		for {
			typ, msg, err := sc.ReadMessage()
			if err != nil {
				return
			}
			_ = sc.WriteMessage(typ, msg)
		}
	}()
	small, large := []byte("hello"), []byte(strings.Repeat("compressible ", 100))
	for _, m := range [][]byte{small, small, small, large, large} {
		require.NoError(t, cc.WriteMessage(TextMessage, m))
		_, got, err := cc.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, m, got)
	}

	mid := server.Snapshot() // while open: the live connection's counts
	assert.Equal(t, 1, mid.Open)
	assert.Equal(t, uint64(5), mid.Traffic.MessagesIn)

	require.NoError(t, cc.Close(StatusNormalClosure, ""))
	<-sc.Done()
	<-serverEnds

	s, c := server.Snapshot().Traffic, client.Snapshot().Traffic
	assert.Equal(t, uint64(5), c.MessagesOut)
	assert.Equal(t, uint64(2), c.CompressedOut, "only messages over the threshold are compressed")
	assert.Equal(t, uint64(2*len(large)), c.DeflatedBytesOut)
	assert.Less(t, c.CompressedBytesOut, uint64(len(large)), "compressed, and the second refers to the first")
	assert.Equal(t, 3*uint64(len(small))+c.CompressedBytesOut, c.BytesOut)
	// Each side's In is the other's Out.
	assert.Equal(t, Traffic{
		MessagesIn: c.MessagesOut, MessagesOut: c.MessagesIn,
		BytesIn: c.BytesOut, BytesOut: c.BytesIn,
		CompressedIn: c.CompressedOut, CompressedOut: c.CompressedIn,
		CompressedBytesIn: c.CompressedBytesOut, CompressedBytesOut: c.CompressedBytesIn,
		InflatedBytesIn: c.DeflatedBytesOut, DeflatedBytesOut: c.InflatedBytesIn,
	}, s)
	assert.Equal(t, c.MessagesOut, c.MessagesIn, "echoed")
}

// recordHandler is a slog.Handler that hands every record to a channel.
type recordHandler struct{ records chan<- slog.Record }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.records <- r
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

// attrs returns a record's attributes as strings, by key.
func attrs(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

// TestLogger: refused handshakes and abnormal ends are logged with their
// attributes; a clean end and the application's Terminate are not.
func TestLogger(t *testing.T) {
	records := make(chan slog.Record, 16)
	ends := make(chan ConnEnd, 16)
	u := &Upgrader{
		Logger: slog.New(recordHandler{records}),
		OnEnd:  func(e ConnEnd) { ends <- e }, // to know when the log had its chance
	}
	srv, conns := startServer(t, u)
	addr := srv.Listener.Addr().String()

	resp, err := http.Get(srv.URL) // not an upgrade
	require.NoError(t, err)
	resp.Body.Close()
	r := <-records
	assert.Equal(t, slog.LevelInfo, r.Level)
	assert.Equal(t, "websocket handshake refused", r.Message)
	a := attrs(r)
	assert.Equal(t, "400", a["status"])
	assert.Equal(t, RefusalUpgradeHeader, a["reason"])
	assert.NotEmpty(t, a["remote"])

	// A clean end and a Terminate: nothing logged.
	p := dial(t, addr, nil)
	c := <-conns
	readAll(c)
	p.sendClose(1000, "")
	p.wantClose(1000)
	<-ends
	p = dial(t, addr, nil)
	c = <-conns
	require.NoError(t, c.Terminate())
	<-ends

	// A protocol violation: logged at Warn.
	p = dial(t, addr, nil)
	c = <-conns
	readAll(c)
	p.send(fin|0x3, nil)
	p.wantClose(StatusProtocolError)
	end := <-ends
	r = <-records
	assert.Equal(t, slog.LevelWarn, r.Level)
	a = attrs(r)
	assert.Equal(t, "1006", a["code"])
	assert.Equal(t, string(CauseProtocolError), a["cause"])
	assert.Equal(t, "local", a["initiator"])
	assert.Equal(t, end.RemoteAddr.String(), a["remote"])
	assert.Contains(t, a["err"], "reserved opcode")
	assert.NotEmpty(t, a["duration"])

	// The peer vanishes: 1006, logged.
	p = dial(t, addr, nil)
	c = <-conns
	readAll(c)
	p.conn.Close()
	<-ends
	r = <-records
	assert.Equal(t, string(CausePeerGone), attrs(r)["cause"])

	select {
	case r := <-records:
		t.Fatalf("unexpected log record %q %v", r.Message, attrs(r))
	default:
	}
}

// TestStatsUnderChurn: thousands of connections end while snapshots are
// taken, under -race; in the end every one is counted once and none is
// open.
func TestStatsUnderChurn(t *testing.T) {
	const n = 2000
	stats := new(Stats)
	u := &Upgrader{Stats: stats}
	stop := make(chan struct{})
	snapshots := make(chan int)
	go func() {
		taken := 0
		for {
			select {
			case <-stop:
				snapshots <- taken
				return
			default:
			}
			s := stats.Snapshot()
			if s.Open < 0 || uint64(s.Open) > s.Opened {
				panic("more open than opened")
			}
			taken++
		}
	}()
	var ended sync.WaitGroup
	for i := range n {
		server, client := net.Pipe()
		c := newConn(&netStream{Conn: server}, u.config(""))
		ended.Go(func() {
			go func() { _, _ = io.Copy(io.Discard, client) }()
			_ = c.WriteMessage(TextMessage, []byte("x"))
			if i%2 == 0 {
				_ = c.Terminate()
			} else {
				client.Close()
				_, _, _ = c.ReadMessage()
			}
			<-c.Done()
			client.Close()
		})
	}
	ended.Wait()
	close(stop)
	assert.Positive(t, <-snapshots)
	s := stats.Snapshot()
	assert.Equal(t, 0, s.Open)
	assert.Equal(t, uint64(n), s.Opened)
	assert.Equal(t, map[Ending]uint64{
		{StatusAbnormalClosure, false, SideLocal, CauseTerminate}: n / 2,
		{StatusAbnormalClosure, false, SidePeer, CausePeerGone}:   n / 2,
	}, s.Ended)
	assert.Equal(t, uint64(n), s.Traffic.MessagesOut)
	assert.Equal(t, uint64(n), s.Traffic.BytesOut)
}

// TestSnapshotJSON: a snapshot encodes as JSON, its maps keyed by their
// text, as expvar shows it.
func TestSnapshotJSON(t *testing.T) {
	snap := StatsSnapshot{
		Refused: map[Refusal]uint64{{400, RefusalUpgradeHeader}: 2},
		Ended:   map[Ending]uint64{{1000, true, SidePeer, CausePeerClose}: 3},
	}
	b, err := json.Marshal(snap)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, map[string]any{"400 upgrade_header": 2.0}, got["Refused"])
	assert.Equal(t, map[string]any{"code=1000 clean=true initiator=peer cause=peer_close": 3.0}, got["Ended"])
}

// TestCountedBeforeDialReturns: once a client's Dial returns, the
// server's Stats counts the connection open and its Group holds it, so
// that a Snapshot or a Shutdown taken then sees it.
func TestCountedBeforeDialReturns(t *testing.T) {
	g, stats := new(Group), new(Stats)
	srv, conns := startServer(t, &Upgrader{Group: g, Stats: stats})
	url := "ws://" + srv.Listener.Addr().String() + "/"
	for i := range 30 {
		ctx, cancel := context.WithTimeout(context.Background(), wireTimeout)
		cc, _, err := Dial(ctx, url, nil)
		cancel()
		require.NoError(t, err)
		require.Equal(t, 1, stats.Snapshot().Open, "dial %d", i)
		require.Equal(t, 1, g.Len(), "dial %d", i)
		require.NoError(t, cc.Terminate())
		sc := <-conns
		require.NoError(t, sc.Terminate()) // nothing reads it: end it here
		<-sc.Done()
	}
}

// TestCountedBeforeH2DialReturns is TestCountedBeforeDialReturns over
// HTTP/2: the Conn is counted and grouped before the 200 goes out.
func TestCountedBeforeH2DialReturns(t *testing.T) {
	g, stats := new(Group), new(Stats)
	srv := startH2Server(t, &Upgrader{Group: g, Stats: stats})
	d := &Dialer{HTTP2Transport: h2Transport(t)}
	url := "ws://" + srv.srv.Listener.Addr().String() + "/ws"
	for i := range 20 {
		cc, _, err := d.DialContext(context.Background(), url, nil)
		require.NoError(t, err)
		require.Equal(t, 1, stats.Snapshot().Open, "dial %d", i)
		require.Equal(t, 1, g.Len(), "dial %d", i)
		// The server's end first: a client that resets its stream at
		// once can make the server's Upgrade fail after the 200 went
		// out (its flush learns of the reset), with no Conn to hand over.
		sc, _ := srv.conn(t)
		require.NoError(t, sc.Terminate())
		<-sc.Done()
		_ = cc.Terminate() // the server's reset may have ended it already
	}
}
