package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The text messages of the compression cells: JSON such as an API sends, a
// list of records with the same keys and realistic values, generated from
// a fixed seed so that every run and every server sees the same bytes.

// jsonVariants is how many different documents of each size a connection
// cycles through: enough that the last copy of a document has left the
// 32 KiB window before it comes again (64 KiB apart at 1 KiB), so that
// context takeover finds shared keys and vocabulary, not whole repeats.
const jsonVariants = 64

// jsonSeqDigits is the width of the counter each message carries.
const jsonSeqDigits = 16

var (
	firstNames = []string{"ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kofi", "lea", "mateo", "nina", "omar", "priya", "quinn", "rosa", "sven", "tariq", "uma", "vik", "wen", "yara", "zoe"}
	lastNames  = []string{"almeida", "brown", "costa", "dubois", "eriksen", "fischer", "garcia", "haddad", "ito", "jensen", "kowalski", "lopez", "moreau", "nakamura", "okafor", "petrov", "quiroga", "rossi", "schmidt", "tanaka", "ueda", "varga", "weber", "xu", "yilmaz"}
	countries  = []string{"DE", "FR", "US", "BR", "JP", "IN", "NG", "SE", "PL", "IT", "ES", "CA"}
	tagWords   = []string{"beta", "admin", "trial", "pro", "mobile", "desktop", "eu", "us", "apac", "verified", "newsletter", "support"}
	noteWords  = []string{"order", "shipped", "pending", "refund", "invoice", "customer", "requested", "update", "address", "payment", "received", "delivery", "window", "confirmed", "the", "and", "for", "with", "next", "week"}
)

// jsonMessage is one document of exactly size bytes, valid JSON and ASCII:
// {"seq":"<16 hex digits>","page":N,"items":[{...},...],"note":"..."}.
// seqAt is the offset of the counter's digits.
func jsonMessage(size, variant int) (b []byte, seqAt int) {
	rng := rand.New(rand.NewPCG(uint64(size), uint64(variant)))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var sb strings.Builder
	head := `{"seq":"`
	sb.WriteString(head)
	sb.WriteString(strings.Repeat("0", jsonSeqDigits))
	fmt.Fprintf(&sb, `","page":%d,"items":[`, variant+1)
	const tailMin = len(`],"note":""}`)
	for i := 0; ; i++ {
		first, last := pick(firstNames), pick(lastNames)
		var rec strings.Builder
		if i > 0 {
			rec.WriteByte(',')
		}
		fmt.Fprintf(&rec, `{"id":%d,"user":"%s.%s","email":"%s.%s@example.com","active":%t,"score":%d.%02d,"country":"%s","tags":["%s","%s"],"created":"2025-%02d-%02dT%02d:%02d:%02dZ","orders":%d}`,
			100000+rng.IntN(900000), first, last, first, last, rng.IntN(4) != 0,
			rng.IntN(100), rng.IntN(100), pick(countries), pick(tagWords), pick(tagWords),
			1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(50))
		if sb.Len()+rec.Len()+tailMin > size {
			break
		}
		sb.WriteString(rec.String())
	}
	sb.WriteString(`],"note":"`)
	room := size - sb.Len() - len(`"}`)
	var note strings.Builder
	for note.Len() < room {
		note.WriteString(pick(noteWords))
		note.WriteByte(' ')
	}
	sb.WriteString(note.String()[:max(room, 0)])
	sb.WriteString(`"}`)
	b = []byte(sb.String())
	if len(b) != size {
		panic(fmt.Sprintf("jsonMessage(%d): %d bytes", size, len(b)))
	}
	return b, len(head)
}

// stampSeq writes k as the message's counter, in hex.
func stampSeq(b []byte, seqAt int, k uint64) {
	const hex = "0123456789abcdef"
	for i := jsonSeqDigits - 1; i >= 0; i-- {
		b[seqAt+i] = hex[k&15]
		k >>= 4
	}
}
