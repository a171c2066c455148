package main

// echo is coder/websocket's echo server: it insists on the "echo"
// subprotocol, rate-limits, and copies each message back as a stream; its
// test talks JSON through wsjson.
//
// It comes from nhooyr.io/websocket, the name coder/websocket had before
// it moved: v1.8.7 is the last version whose module zip holds the
// examples. Later ones keep them in a nested module of their own, which
// the module proxy does not serve.
var echo = example{
	Name:     "echo",
	Module:   "nhooyr.io/websocket",
	Version:  "v1.8.7",
	Folder:   "examples/echo",
	Requires: []string{"golang.org/x/time@v0.15.0"},
	Rules: []rule{
		{
			File:  "server.go",
			Old:   `"nhooyr.io/websocket"`,
			New:   `"github.com/a60656ec/websocket"`,
			Guide: rowCoderImport,
		},
		{
			File: "server.go",
			Old: "websocket.Accept(w, r, &websocket.AcceptOptions{\n" +
				"\t\tSubprotocols: []string{\"echo\"},\n" +
				"\t})",
			New: "(&websocket.Upgrader{\n" +
				"\t\tSubprotocols: []string{\"echo\"},\n" +
				"\t}).Upgrade(w, r, nil)",
			Guide: rowCoderAccept,
		},
		// coder ends the connection when a read's context ends; so does
		// Terminate, once the context of the whole echo ends. Stopping it
		// first keeps the deferred cancel from setting it off.
		{
			File: "server.go",
			Old:  "\tctx, cancel := context.WithTimeout(ctx, time.Second*10)\n\tdefer cancel()\n",
			New: "\tctx, cancel := context.WithTimeout(ctx, time.Second*10)\n\tdefer cancel()\n" +
				"\tstop := context.AfterFunc(ctx, func() { c.Terminate() })\n\tdefer stop()\n",
			Guide: sentenceCoderContext,
		},
		{
			File:  "server.go",
			Old:   "c.Reader(ctx)",
			New:   "c.NextReader()",
			Guide: rowCoderReader,
		},
		{
			File:  "server.go",
			Old:   "c.Writer(ctx, typ)",
			New:   "c.NextWriter(typ)",
			Guide: rowCoderWriter,
		},
		{
			File:  "server_test.go",
			Old:   `"nhooyr.io/websocket"`,
			New:   `"github.com/a60656ec/websocket"`,
			Guide: rowCoderImport,
		},
		{
			File:  "server_test.go",
			Old:   "\t\"nhooyr.io/websocket/wsjson\"\n",
			New:   "",
			Guide: rowCoderJSON,
		},
		{
			File: "server_test.go",
			Old: "websocket.Dial(ctx, s.URL, &websocket.DialOptions{\n" +
				"\t\tSubprotocols: []string{\"echo\"},\n" +
				"\t})",
			New: "(&websocket.Dialer{\n" +
				"\t\tSubprotocols: []string{\"echo\"},\n" +
				"\t}).DialContext(ctx, s.URL, nil)",
			Guide: rowCoderDial,
		},
		{
			File:  "server_test.go",
			Old:   "wsjson.Write(ctx, c, ",
			New:   "c.WriteJSON(",
			Guide: rowCoderJSON,
		},
		{
			File:  "server_test.go",
			Old:   "wsjson.Read(ctx, c, &v)",
			New:   "c.ReadJSON(&v)",
			Guide: rowCoderJSON,
		},
	},
}
