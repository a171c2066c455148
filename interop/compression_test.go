package interop

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/a60656ec/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Scenario 9: permessage-deflate (RFC 7692) against each client's own
// implementation: Chromium's, and zlib under Node's ws and under websockets.

// What the server answers: in CompressionNoContextTakeover mode always the
// second; in CompressionContextTakeover mode the first, unless the client
// offered the no_context_takeover parameters, which the answer then names.
const (
	answerTakeover   = "permessage-deflate"
	answerNoTakeover = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
)

var compressionModes = []struct {
	name string
	mode websocket.CompressionMode
}{
	{"server no context takeover", websocket.CompressionNoContextTakeover},
	{"server context takeover", websocket.CompressionContextTakeover},
}

// compressionUpgrader is the Upgrader of the compression scenarios. Its
// read limit leaves room for deflate's overhead on 1 MiB of incompressible
// data: the server refuses a compressed message whose compressed length
// exceeds the limit, even one whose size does not (TestCompressedReadLimit).
func compressionUpgrader(mode websocket.CompressionMode) websocket.Upgrader {
	u := scenarioUpgrader()
	u.Compression = mode
	u.ReadLimit = 1<<20 + 64<<10
	return u
}

// compressionOffer is one way a client offers permessage-deflate, and what
// the server answers it in each mode.
type compressionOffer struct {
	name    string
	deflate *deflateOptions // Node's options; nil for the client's own offer
	answer  map[websocket.CompressionMode]string
	// large: the client sends the 1 MiB messages too. Not the browser
	// (they are costly to carry through DevTools, and TestEcho has them
	// uncompressed), nor ws's no_context_takeover offer: it agrees with
	// the server on the parameters of its default offer with a server in
	// no-context-takeover mode.
	large bool
}

// compressionOffers lists the offers a client can make. Chromium and
// websockets offer "permessage-deflate; client_max_window_bits" and
// compress every message. Node's ws offers the same, or also both
// no_context_takeover parameters, and is told to compress every message
// (by default it leaves those under 1 KiB alone).
func compressionOffers(ck clientKind) []compressionOffer {
	bothAnswers := map[websocket.CompressionMode]string{
		websocket.CompressionNoContextTakeover: answerNoTakeover,
		websocket.CompressionContextTakeover:   answerTakeover,
	}
	if ck.name != nodeWS {
		return []compressionOffer{{name: "default offer", answer: bothAnswers, large: ck.name != chromium}}
	}
	return []compressionOffer{
		{name: "ws context takeover", deflate: &deflateOptions{}, answer: bothAnswers, large: true},
		{
			name:    "ws no context takeover",
			deflate: &deflateOptions{ClientNoContextTakeover: true, ServerNoContextTakeover: true},
			answer: map[websocket.CompressionMode]string{
				websocket.CompressionNoContextTakeover: answerNoTakeover,
				websocket.CompressionContextTakeover:   answerNoTakeover,
			},
		},
	}
}

// connectDeflate connects a client that makes offer to a server with
// Upgrader u, and checks, from the client's side, that permessage-deflate
// was agreed as the server answered. It returns the answer.
func connectDeflate(t *testing.T, ck clientKind, u websocket.Upgrader, offer compressionOffer) (*client, *serverConn, string) {
	t.Helper()
	c, sc, open := connectWith(t, ck, u, command{Deflate: offer.deflate})
	answer := offer.answer[u.Compression]
	t.Logf("%s: offered %q; the client got %q (negotiated %q)", ck.name, sc.offer, open.Extensions, open.Negotiated)
	// Chromium's ws.extensions; Node's and Python's response header.
	require.Equal(t, answer, open.Extensions, "the Sec-WebSocket-Extensions the client got")
	switch ck.name {
	case nodeWS:
		assert.Equal(t, "permessage-deflate", open.Negotiated, "ws.extensions")
	case pythonWS:
		assert.Equal(t, websocketsDeflate(answer), open.Negotiated, "websockets' extensions")
	}
	return c, sc, answer
}

// websocketsDeflate is how websockets 10 describes the extension it runs
// for an answer: remote is the server, local the client.
func websocketsDeflate(answer string) string {
	py := map[bool]string{true: "True", false: "False"}
	return fmt.Sprintf("PerMessageDeflate(remote_no_context_takeover=%s, local_no_context_takeover=%s, "+
		"remote_max_window_bits=15, local_max_window_bits=15)",
		py[strings.Contains(answer, "server_no_context_takeover")],
		py[strings.Contains(answer, "client_no_context_takeover")])
}

// wireCounts returns the bytes through the client's socket so far.
func wireCounts(t *testing.T, c *client) event {
	t.Helper()
	c.send(t, command{Op: "stats"})
	return c.expect(t, "stats")
}

// compressionSeed seeds the random payloads, so that a failure reproduces.
const compressionSeed = 7692

// jsonText is n bytes of JSON lines, multi-byte characters among them:
// repetitive, as real traffic is, so deflate takes it to a fraction.
func jsonText(n int) []byte {
	var b []byte
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, `{"id":%d,"user":"zoë-%d","city":"東京","note":"héllo wörld ✓ 😀","ok":%t}`+"\n", i, i%97, i%3 == 0)
	}
	return fitText(b, n)
}

// randomText is n bytes of UTF-8 made of random code points of every
// length: deflate gains little on it.
func randomText(rng *rand.Rand, n int) []byte {
	ranges := [][2]rune{{0x21, 0x7e}, {0x80, 0x7ff}, {0x800, 0xd7ff}, {0x10000, 0x10ffff}}
	b := make([]byte, 0, n)
	for len(b) < n {
		r := ranges[rng.IntN(len(ranges))]
		b = utf8.AppendRune(b, r[0]+rune(rng.IntN(int(r[1]-r[0]+1))))
	}
	return fitText(b, n)
}

// fitText cuts text to n bytes at a character boundary and pads it with
// spaces to exactly n.
func fitText(b []byte, n int) []byte {
	b = b[:n]
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return append(b, strings.Repeat(" ", n-len(b))...)
}

// randomBytes is n random bytes: deflate cannot shrink them.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// recordBytes is n bytes of fixed-size binary records (a tag, a counter, a
// slowly moving value): compressible.
func recordBytes(n int) []byte {
	var b []byte
	for i := uint32(0); len(b) < n; i++ {
		b = append(b, 0x89, 'R', 'E', 'C')
		b = binary.LittleEndian.AppendUint32(b, i)
		b = binary.LittleEndian.AppendUint32(b, 1000+i/16)
		b = append(b, 0, 0, 0, 0xff)
	}
	return b[:n]
}

// compressionMessage is a message of the compression scenarios.
type compressionMessage struct {
	name string
	typ  websocket.MessageType
	data []byte
	// shrinks: deflate takes it well under its size, so that a compressed
	// frame, header and all, is shorter than the bare payload.
	shrinks bool
	large   bool // 1 MiB: see compressionOffer.large
}

// compressionMessages is what each client sends in a row on one
// connection: the empty and the shortest messages, short ones that the
// server echoes uncompressed (under CompressionThreshold) between
// compressed ones, then text and binary, compressible or not, of sizes
// around the server's WriteMessage/NextWriter switch (64 KiB) up to 1 MiB
// (websockets' default limit), and the browser's larger ones.
func compressionMessages() []compressionMessage {
	rng := rand.New(rand.NewPCG(compressionSeed, compressionSeed))
	msgs := []compressionMessage{
		{"empty text", websocket.TextMessage, []byte{}, false, false},
		{"empty binary", websocket.BinaryMessage, []byte{}, false, false},
		{"1-byte text", websocket.TextMessage, []byte("a"), false, false},
		{"1-byte binary", websocket.BinaryMessage, []byte{0xff}, false, false},
		{"ascii text", websocket.TextMessage, []byte("hello, world"), false, false},
		{"multi-byte text", websocket.TextMessage, []byte("héllo wörld ✓ 日本語 😀"), false, false},
	}
	for _, size := range []struct {
		name string
		n    int
	}{{"200-byte", 200}, {"64 KiB", 64 << 10}, {"1 MiB", 1 << 20}} {
		large := size.n == 1<<20
		msgs = append(msgs,
			compressionMessage{size.name + " JSON-like text", websocket.TextMessage, jsonText(size.n), true, large},
			compressionMessage{size.name + " random text", websocket.TextMessage, randomText(rng, size.n), false, large},
			compressionMessage{size.name + " binary records", websocket.BinaryMessage, recordBytes(size.n), true, large},
			compressionMessage{size.name + " random binary", websocket.BinaryMessage, randomBytes(rng, size.n), false, large},
		)
	}
	return append(msgs,
		compressionMessage{"200 KiB JSON-like text", websocket.TextMessage, jsonText(200 << 10), true, false},
		compressionMessage{"256 KiB random binary", websocket.BinaryMessage, randomBytes(rng, 256<<10), false, false},
	)
}

// Scenario 9a: every client agrees on permessage-deflate with the server
// in each mode, as the server answered, and many messages in a row come
// back intact: their contents, and under context takeover the window each
// side keeps across them. Where the client counts its socket's bytes, the
// test checks that compressible messages travel compressed both ways, and
// that the same message sent again travels smaller exactly when the answer
// lets that side take its context over.
func TestCompressedEcho(t *testing.T) {
	msgs := compressionMessages()
	// A record first, three times: the first copy starts a fresh context.
	record := jsonText(200)
	t.Logf("random payloads from seed %d", compressionSeed)
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		for _, offer := range compressionOffers(ck) {
			for _, m := range compressionModes {
				t.Run(offer.name+"/"+m.name, func(t *testing.T) {
					c, sc, answer := connectDeflate(t, ck, compressionUpgrader(m.mode), offer)
					var last event
					if ck.wireStats {
						last = wireCounts(t, c)
					}
					// wire returns what the last message cost on the wire
					// each way.
					wire := func() (sent, got int64) {
						now := wireCounts(t, c)
						sent, got = now.Written-last.Written, now.Read-last.Read
						last = now
						return sent, got
					}

					var sent, echoed [3]int64 // the record's copies on the wire
					for i := range 3 {
						roundTrip(t, c, sc, fmt.Sprintf("record %d", i), websocket.TextMessage, record)
						if ck.wireStats {
							sent[i], echoed[i] = wire()
						}
					}
					if ck.wireStats {
						t.Logf("%s: the same %d-byte record sent as %v and echoed as %v bytes on the wire", ck.name, len(record), sent, echoed)
						assert.Less(t, sent[0], int64(len(record)), "the client compresses the record")
						assert.Less(t, echoed[0], int64(len(record)), "the server compresses the record")
						if strings.Contains(answer, "client_no_context_takeover") {
							assert.Equal(t, sent[0], sent[1], "the client compresses each copy afresh")
						} else {
							assert.Less(t, sent[1], sent[0], "the client's second copy refers to its first")
						}
						if strings.Contains(answer, "server_no_context_takeover") {
							assert.Equal(t, echoed[0], echoed[1], "the server compresses each copy afresh")
						} else {
							assert.Less(t, echoed[1], echoed[0], "the server's second copy refers to its first")
						}
					}

					for _, msg := range msgs {
						if msg.large && !offer.large {
							continue
						}
						roundTrip(t, c, sc, msg.name, msg.typ, msg.data)
						if !ck.wireStats {
							continue
						}
						sent, got := wire()
						t.Logf("%s: %s: %d bytes, sent as %d and echoed as %d on the wire", ck.name, msg.name, len(msg.data), sent, got)
						if msg.shrinks {
							assert.Less(t, sent, int64(len(msg.data)), "%s: the client compresses it", msg.name)
							assert.Less(t, got, int64(len(msg.data)), "%s: the server compresses it", msg.name)
						}
					}

					c.send(t, command{Op: "close", Code: 1000})
					ev, _ := c.expectClose(t)
					assert.Equal(t, 1000, ev.Code)
					assert.Equal(t, websocket.StatusNormalClosure, websocket.CloseStatus(sc.waitReadErr(t, promptly)))
				})
			}
		}
	})
}

// Scenario 9b: with compression on, the connection ends as it does
// without (scenarios 2, 3, 3b, 4 and 5), after a compressed message each
// way, in context takeover mode, where both sides hold a context.
func TestCompressedClose(t *testing.T) {
	u := compressionUpgrader(websocket.CompressionContextTakeover)
	last := string(jsonText(1 << 10)) // over CompressionThreshold: compressed both ways
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		offer := compressionOffers(ck)[0]
		connect := func(t *testing.T) (*client, *serverConn) {
			t.Helper()
			c, sc, _ := connectDeflate(t, ck, u, offer)
			roundTrip(t, c, sc, "first message", websocket.TextMessage, []byte(last))
			return c, sc
		}
		t.Run("client closes", func(t *testing.T) {
			c, sc := connect(t)
			clientCloses(t, ck, c, sc, last, 4000, "client bye ✓")
		})
		t.Run("server closes", func(t *testing.T) {
			c, sc := connect(t)
			serverCloses(t, ck, c, sc, last)
		})
		t.Run("server closes during traffic", func(t *testing.T) {
			c, sc := connect(t)
			serverClosesDuringTraffic(t, ck, c, sc)
		})
		t.Run("server terminates", func(t *testing.T) {
			c, sc := connect(t)
			serverTerminates(t, ck, c, sc)
		})
		if ck.terminate != nil {
			t.Run("client terminates", func(t *testing.T) {
				c, sc := connect(t)
				clientTerminates(t, ck, c, sc)
			})
		}
	})
}

// Scenario 9c: the read limit counts a compressed message's decompressed
// bytes (the README: "The read limit counts decompressed bytes"), not its
// length on the wire. A message of random bytes just under ReadLimit
// compresses to a little more than its size (deflate stores it in blocks
// with 5-byte headers), and must be read all the same, as it is when it
// comes uncompressed.
//
// It fails, with every client: the server refuses the message with 1009
// "message too big" because its compressed frame is longer than ReadLimit
// (nextFrame in read.go checks each frame's length against the limit,
// compressed or not).
func TestCompressedReadLimit(t *testing.T) {
	const limit = 64 << 10
	u := compressionUpgrader(websocket.CompressionNoContextTakeover)
	u.ReadLimit = limit
	// 4 bytes under the limit; compressed, a few bytes over it.
	data := randomBytes(rand.New(rand.NewPCG(compressionSeed, 0)), limit-4)
	forEachClient(t, nil, func(t *testing.T, ck clientKind) {
		c, sc, _ := connectDeflate(t, ck, u, compressionOffers(ck)[0])
		roundTrip(t, c, sc, fmt.Sprintf("%d random bytes, ReadLimit %d", len(data), limit), websocket.BinaryMessage, data)
	})
}
