package main

// tally is one client's account of one publisher's messages: which
// sequence numbers arrived, so that a message seen twice is told from one
// that came late, and the highest so far, so that one that came after a
// later one counts as out of order. The chat promises each member a
// publisher's messages once and in order (one NATS connection per process,
// one subscription goroutine per room); the tally checks both.
type tally struct {
	seen       []uint64 // bit s is set once sequence number s has arrived
	highest    int64    // the highest sequence number seen; -1 before any
	distinct   int64    // sequence numbers seen at least once
	duplicates int64    // arrivals of a sequence number already seen
	reordered  int64    // first arrivals below the highest seen before
}

func newTally() tally { return tally{highest: -1} }

// add accounts for the arrival of sequence number seq (0, 1, 2, ...) and
// reports whether it was the first arrival of seq: only first arrivals
// are deliveries.
func (t *tally) add(seq int64) bool {
	if seq < 0 {
		return false
	}
	word, bit := int(seq/64), uint64(1)<<(seq%64)
	for len(t.seen) <= word {
		t.seen = append(t.seen, 0)
	}
	if t.seen[word]&bit != 0 {
		t.duplicates++
		return false
	}
	t.seen[word] |= bit
	t.distinct++
	if seq < t.highest {
		t.reordered++
	} else {
		t.highest = seq
	}
	return true
}

// missing returns how many of the sequence numbers 0 to sent-1 have not
// arrived, in two parts: gaps, below the highest that did arrive, which a
// chat delivering in order has dropped; and tail, above it, which may
// only have been still on their way when the run stopped waiting.
func (t *tally) missing(sent int64) (gaps, tail int64) {
	for s := range sent {
		if w := int(s / 64); w < len(t.seen) && t.seen[w]&(1<<(s%64)) != 0 {
			continue
		}
		if s < t.highest {
			gaps++
		} else {
			tail++
		}
	}
	return gaps, tail
}
