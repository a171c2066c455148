package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// config is one load run's settings, from the command line.
type config struct {
	clients    int
	rates      rateList // messages per second, all publishers together, one window each
	duration   time.Duration
	size       int // bytes of each message's text
	compress   bool
	publishers int
	label      string

	drain       time.Duration // how long after the last send to wait for deliveries
	joinTimeout time.Duration
	settle      time.Duration // how long the joins' backlog may take to drain
	dialers     int
	sources     int
	serve       bool

	chatBin     string
	profile     string
	profileJoin bool
	out         string
}

// rateList is -rate: one rate, or several separated by commas, measured
// one after the other in the same room, so that a room of 10,000, which
// takes minutes to fill, is filled once for them all.
type rateList []float64

func (l *rateList) String() string {
	parts := make([]string, len(*l))
	for i, r := range *l {
		parts[i] = strconv.FormatFloat(r, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (l *rateList) Set(s string) error {
	*l = nil
	for part := range strings.SplitSeq(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("rate %q: want a number above 0", part)
		}
		*l = append(*l, r)
	}
	return nil
}

// parseFlags reads the command line into a config.
func parseFlags(fs *flag.FlagSet, args []string) (*config, error) {
	c := &config{}
	fs.IntVar(&c.clients, "clients", 10_000, "clients in the room, spread evenly over the three processes")
	c.rates = rateList{100}
	fs.Var(&c.rates, "rate", "messages per second to the room, all publishers together; several, comma-separated, are measured in turn in one room (put one the chat cannot sustain last: its backlog outlasts its window)")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "how long the publishers send")
	fs.IntVar(&c.size, "size", 100, "bytes of each message's text (the chat's JSON event around it adds about 90)")
	fs.BoolVar(&c.compress, "compress", true, "clients offer permessage-deflate, as browsers do")
	fs.IntVar(&c.publishers, "publishers", 3, "clients that send, out of -clients: the first ones, one per process in turn")
	fs.StringVar(&c.label, "label", "", "names the run's cell in -out and in the summary")
	fs.DurationVar(&c.drain, "drain", 30*time.Second, "after the last send, how long to wait for what has not arrived")
	fs.DurationVar(&c.joinTimeout, "join-timeout", 4*time.Minute, "how long the clients may take to connect and join")
	fs.DurationVar(&c.settle, "settle", time.Minute, "how long the joins' backlog may take to drain before sending")
	fs.IntVar(&c.dialers, "dialers", 32, "clients dialing, or waiting for their join to arrive, at once")
	fs.IntVar(&c.sources, "sources", 1, "loopback source addresses to dial from (127.0.0.1 up)")
	fs.BoolVar(&c.serve, "serve", false, "clients read with Conn.Serve, the library's poller, rather than a goroutine each in NextReader")
	fs.StringVar(&c.chatBin, "chat", "", "chat binary to run; empty builds it")
	fs.StringVar(&c.profile, "profile", "", "write CPU profiles of each measured window to this directory, the load process's and the chat processes' (built then with a profiling hook)")
	fs.BoolVar(&c.profileJoin, "profile-join", false, "with -profile, profile the joins too (first dial to the first window)")
	fs.StringVar(&c.out, "out", "", "append the run's result as a JSON line to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case c.clients < 1 || c.publishers < 1 || c.publishers > c.clients:
		return nil, errors.New("need -clients >= -publishers >= 1")
	case c.duration <= 0 || c.size < 0:
		return nil, errors.New("need -duration > 0 and -size >= 0")
	case c.sources < 1 || c.sources > 250:
		return nil, errors.New("-sources is 1 to 250")
	case c.chatBin != "" && c.profile != "":
		return nil, errors.New("-profile builds the chat itself: it cannot use -chat")
	}
	return c, nil
}

// total is how many messages a window at rate sends.
func (c *config) total(rate float64) int64 { return int64(rate * c.duration.Seconds()) }
