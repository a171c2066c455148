package main

import (
	"bytes"
	"math"
	"strconv"
)

// A load message's text is "L <window> <publisher> <seq> <sent> <padding>",
// where sent is the send time in Unix nanoseconds: readers in this process
// time it against the same clock. A window's sync message, sent before its
// load messages, is "S <window>": once every member has it, what was sent
// before (the joins, an earlier window's backlog) has been delivered. Both
// are plain ASCII without quotes or backslashes, so the chat's JSON carries
// them unescaped.
const (
	loadPrefix = "L "
	syncPrefix = "S "
)

// padding fills a text out to the asked size with words, so that it
// compresses about as well as chat does, not as well as a run of one byte.
const padding = "the quick brown fox jumps over the lazy dog while a chat room " +
	"of ten thousand members reads along and every one of them gets each line "

// appendLoadText appends the text of message seq of publisher pub in
// window win, sent at Unix nanosecond sent, padded to size bytes when it is
// shorter.
func appendLoadText(b []byte, win, pub int, seq, sent int64, size int) []byte {
	start := len(b)
	b = append(b, loadPrefix...)
	b = strconv.AppendInt(b, int64(win), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(pub), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, ' ')
	for off := int(seq) % len(padding); len(b)-start < size; off = (off + 1) % len(padding) {
		b = append(b, padding[off])
	}
	return b
}

// eventText returns the text field of a chat event as the server marshals
// it (kind first, then room, from, text), or nil when the event is not a
// message. It looks only at the bytes: decoding 10,000 copies of each
// message with encoding/json would cost the load process more than it
// costs the servers to send them.
func eventText(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte(`{"kind":"message"`)) {
		return nil
	}
	_, rest, ok := bytes.Cut(data, []byte(`"text":"`))
	if !ok {
		return nil
	}
	text, _, ok := bytes.Cut(rest, []byte(`"`))
	if !ok {
		return nil
	}
	return text
}

// parseLoadText returns the window, publisher, sequence number and send
// time of a load message's text; ok is false for any other text.
func parseLoadText(text []byte) (win, pub int, seq, sent int64, ok bool) {
	rest, found := bytes.CutPrefix(text, []byte(loadPrefix))
	if !found {
		return 0, 0, 0, 0, false
	}
	var nums [4]int64
	for i := range nums {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte(" "))
		n, ok := parseDecimal(field)
		if !ok || i < 2 && n > math.MaxInt32 {
			return 0, 0, 0, 0, false
		}
		nums[i] = n
	}
	return int(nums[0]), int(nums[1]), nums[2], nums[3], true
}

// syncText is the text of window win's sync message.
func syncText(win int) string { return syncPrefix + strconv.Itoa(win) }

// parseSyncText returns the window of a sync message's text; ok is false
// for any other text.
func parseSyncText(text []byte) (win int, ok bool) {
	rest, found := bytes.CutPrefix(text, []byte(syncPrefix))
	if !found {
		return 0, false
	}
	n, ok := parseDecimal(rest)
	if !ok || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

// parseDecimal parses a non-negative decimal that fits an int64.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		d := int64(c) - '0'
		if d < 0 || d > 9 || n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// isOwnJoin reports whether data is the join event of the member named
// name: its own join tells a client that its process listens to the room.
func isOwnJoin(data []byte, name string) bool {
	if !bytes.HasPrefix(data, []byte(`{"kind":"join"`)) {
		return false
	}
	_, rest, ok := bytes.Cut(data, []byte(`"from":"`))
	return ok && len(rest) > len(name) && string(rest[:len(name)]) == name && rest[len(name)] == '"'
}
