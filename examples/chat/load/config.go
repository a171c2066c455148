package main

import (
	"errors"
	"flag"
	"time"
)

// config is one load run's settings, from the command line.
type config struct {
	clients    int
	rate       float64 // messages per second, all publishers together
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
	cpuprofile  string
	chatProfile string
	out         string
}

// parseFlags reads the command line into a config.
func parseFlags(fs *flag.FlagSet, args []string) (*config, error) {
	c := &config{}
	fs.IntVar(&c.clients, "clients", 10_000, "clients in the room, spread evenly over the three processes")
	fs.Float64Var(&c.rate, "rate", 100, "messages per second to the room, all publishers together")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "how long the publishers send")
	fs.IntVar(&c.size, "size", 100, "bytes of each message's text (the chat's JSON event around it adds about 90)")
	fs.BoolVar(&c.compress, "compress", true, "clients offer permessage-deflate, as browsers do")
	fs.IntVar(&c.publishers, "publishers", 3, "clients that send, out of -clients: the first ones, one per process in turn")
	fs.StringVar(&c.label, "label", "", "names the run's cell in -out and in the summary")
	fs.DurationVar(&c.drain, "drain", 30*time.Second, "after the last send, how long to wait for what has not arrived")
	fs.DurationVar(&c.joinTimeout, "join-timeout", 4*time.Minute, "how long the clients may take to connect and join")
	fs.DurationVar(&c.settle, "settle", time.Minute, "how long the joins' backlog may take to drain before sending")
	fs.IntVar(&c.dialers, "dialers", 32, "dials in flight at once")
	fs.IntVar(&c.sources, "sources", 1, "loopback source addresses to dial from (127.0.0.1 up)")
	fs.BoolVar(&c.serve, "serve", true, "clients read with Conn.Serve; false: a goroutine per client in NextReader")
	fs.StringVar(&c.chatBin, "chat", "", "chat binary to run; empty builds it")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write the load process's CPU profile of the measured window to this file")
	fs.StringVar(&c.chatProfile, "chatprofile", "", "build the chat with a profiling hook and write each process's CPU profile of the measured window to this directory")
	fs.StringVar(&c.out, "out", "", "append the run's result as a JSON line to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case c.clients < 1 || c.publishers < 1 || c.publishers > c.clients:
		return nil, errors.New("need -clients >= -publishers >= 1")
	case c.rate <= 0 || c.duration <= 0 || c.size < 0:
		return nil, errors.New("need -rate > 0, -duration > 0 and -size >= 0")
	case c.sources < 1 || c.sources > 250:
		return nil, errors.New("-sources is 1 to 250")
	case c.chatBin != "" && c.chatProfile != "":
		return nil, errors.New("-chatprofile builds the chat itself: it cannot use -chat")
	}
	return c, nil
}

// total is how many messages the run sends.
func (c *config) total() int64 { return int64(c.rate * c.duration.Seconds()) }
