package main

// An example is an upstream example program and the edits that port it
// to this package.
type example struct {
	// Name is what the command line calls it.
	Name string
	// Module, Version and Folder say where upstream keeps it: a folder of
	// a module zip the Go module proxy serves.
	Module, Version, Folder string
	// Requires lists the modules, as path@version, that the example
	// imports besides the WebSocket package.
	Requires []string
	// Rules are applied in order, each to the text the previous ones left.
	Rules []rule
}

// examples are the programs this module ports, by name.
var examples = map[string]example{
	chat.Name: chat,
	echo.Name: echo,
}

// The rows of MIGRATING.md that the rules quote, each as the start of its
// table row: the old and the new column.
const (
	rowGorillaImport     = "| `import \"github.com/gorilla/websocket\"` | `import \"github.com/a60656ec/websocket\"` |"
	rowGorillaClose      = "| `conn.Close()` | `conn.Terminate()` |"
	rowGorillaEmptyClose = "| `conn.WriteMessage(websocket.CloseMessage, []byte{})` | `conn.Close(websocket.StatusNormalClosure, \"\")` |"
	rowGorillaCodes      = "| `websocket.CloseGoingAway`, `CloseNormalClosure`, ... | `websocket.StatusGoingAway`, `StatusNormalClosure`, ... |"
	rowGorillaUnexpected = "| `websocket.IsUnexpectedCloseError(err, codes...)` | `websocket.CloseStatus(err)` |"
	rowGorillaHeartbeat  = "| ping ticker + `WriteMessage(websocket.PingMessage, nil)` + `SetPongHandler` + `SetReadDeadline` | `Upgrader.PingInterval` (and `PongTimeout`), or `conn.SetHeartbeat` |"

	rowCoderImport = "| `import \"github.com/coder/websocket\"` (or `nhooyr.io/websocket`) | `import \"github.com/a60656ec/websocket\"` |"
	rowCoderAccept = "| `websocket.Accept(w, r, opts)` | `(&websocket.Upgrader{...}).Upgrade(w, r, nil)` |"
	rowCoderDial   = "| `websocket.Dial(ctx, url, &websocket.DialOptions{...})` | `(&websocket.Dialer{...}).DialContext(ctx, url, nil)` |"
	rowCoderReader = "| `c.Reader(ctx)` | `conn.NextReader()` |"
	rowCoderWriter = "| `c.Writer(ctx, typ)` | `conn.NextWriter(typ)` |"
	rowCoderJSON   = "| `wsjson.Read(ctx, c, &v)`, `wsjson.Write(ctx, c, v)` | `conn.ReadJSON(&v)`, `conn.WriteJSON(v)` |"
	// Not a row: the sentence under coder's table on bounding a read by a
	// context.
	sentenceCoderContext = "`context.AfterFunc(ctx, func() { conn.Terminate() })`"
)
