package main

// chat is gorilla/websocket's chat room: a hub goroutine fans each message
// out to every client, whose writer goroutine batches what queued up.
var chat = example{
	Name:    "chat",
	Module:  "github.com/gorilla/websocket",
	Version: "v1.5.3",
	Folder:  "examples/chat",
	Rules: []rule{
		{
			File:  "client.go",
			Old:   `"github.com/gorilla/websocket"`,
			New:   `"github.com/a60656ec/websocket"`,
			Guide: rowGorillaImport,
		},
		// gorilla's Close drops TCP, which is what both pumps mean when
		// they return; each call is named by the line before it.
		{
			File:  "client.go",
			Old:   "c.hub.unregister <- c\n\t\tc.conn.Close()",
			New:   "c.hub.unregister <- c\n\t\tc.conn.Terminate()",
			Guide: rowGorillaClose,
		},
		{
			File:  "client.go",
			Old:   "ticker.Stop()\n\t\tc.conn.Close()",
			New:   "ticker.Stop()\n\t\tc.conn.Terminate()",
			Guide: rowGorillaClose,
		},
		{
			File:  "client.go",
			Old:   "c.conn.WriteMessage(websocket.CloseMessage, []byte{})",
			New:   `c.conn.Close(websocket.StatusNormalClosure, "")`,
			Guide: rowGorillaEmptyClose,
		},
		{
			File:  "client.go",
			Old:   "websocket.CloseGoingAway, websocket.CloseAbnormalClosure",
			New:   "websocket.StatusGoingAway, websocket.StatusAbnormalClosure",
			Guide: rowGorillaCodes,
		},
		{
			File:  "client.go",
			Old:   "if websocket.IsUnexpectedCloseError(err, websocket.StatusGoingAway, websocket.StatusAbnormalClosure) {",
			New:   "if code := websocket.CloseStatus(err); code != 0 && code != websocket.StatusGoingAway && code != websocket.StatusAbnormalClosure {",
			Guide: rowGorillaUnexpected,
		},
		// The heartbeat: the Upgrader pings, and a missed pong ends the
		// connection, so the ticker, the pong handler and the read
		// deadline it moves go.
		{
			File:  "client.go",
			Old:   "\tWriteBufferSize: 1024,\n}",
			New:   "\tWriteBufferSize: 1024,\n\tPingInterval:    pingPeriod,\n}",
			Guide: rowGorillaHeartbeat,
		},
		{
			File: "client.go",
			Old: "\tc.conn.SetReadDeadline(time.Now().Add(pongWait))\n" +
				"\tc.conn.SetPongHandler(func(string) error { c.conn.SetReadDeadline(time.Now().Add(pongWait)); return nil })\n",
			New:   "",
			Guide: rowGorillaHeartbeat,
		},
		{
			File:  "client.go",
			Old:   "\tticker := time.NewTicker(pingPeriod)\n",
			New:   "",
			Guide: rowGorillaHeartbeat,
		},
		{
			File:  "client.go",
			Old:   "\t\tticker.Stop()\n",
			New:   "",
			Guide: rowGorillaHeartbeat,
		},
		{
			File: "client.go",
			Old: "\t\tcase <-ticker.C:\n" +
				"\t\t\tc.conn.SetWriteDeadline(time.Now().Add(writeWait))\n" +
				"\t\t\tif err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {\n" +
				"\t\t\t\treturn\n" +
				"\t\t\t}\n",
			New:   "",
			Guide: rowGorillaHeartbeat,
		},
	},
}
