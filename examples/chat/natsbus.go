package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// natsReadyTimeout bounds how long the embedded server may take to start.
const natsReadyTimeout = 10 * time.Second

// startEmbeddedNATS runs a NATS server inside this process, listening on
// listen (host:port; port 0 picks a free one). It listens on loopback by
// default: other chat processes on this machine may join it with -nats,
// and nothing beyond the machine can.
func startEmbeddedNATS(listen string) (*server.Server, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("-nats-listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("-nats-listen %q: %w", listen, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(&server.Options{
		Host:   host,
		Port:   port,
		NoSigs: true, // this process handles its own signals
		NoLog:  true,
	})
	if err != nil {
		return nil, err
	}
	go ns.Start()
	if !ns.ReadyForConnections(natsReadyTimeout) {
		ns.Shutdown()
		return nil, errors.New("embedded NATS server did not start")
	}
	return ns, nil
}

// connectNATS connects to url, retrying for a while so that processes
// started together do not depend on their order.
func connectNATS(url, name string) (*nats.Conn, error) {
	return nats.Connect(url,
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
	)
}
