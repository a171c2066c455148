// A WebSocket echo server on Node's `ws` package, for the Go tests of our
// client (Dial). It listens on an ephemeral port of 127.0.0.1, echoes every
// message with its type, and accepts permessage-deflate (threshold 0: every
// message it sends is compressed) when the client offers it.
//
// Events, as JSON lines on stdout, one per line:
//
//	{"event":"listening","port":N}            first, once
//	{"event":"open","conn":1,"protocol":"…","extensions":"…","negotiated":"…"}
//	                 extensions: the Sec-WebSocket-Extensions ws answered;
//	                 negotiated: ws.extensions
//	{"event":"message","conn":1,"type":"text","data":"…"}   binary data is base64
//	{"event":"close","conn":1,"code":N,"reason":"…","wasClean":true}
//	                 the CloseEvent ws fires once TCP is closed
//	{"event":"error","conn":1,"message":"…"}
//
// Commands, as JSON lines on stdin; conn numbers the connections from 1,
// and 0 or none means the latest:
//
//	{"op":"send","conn":1,"type":"text","data":"…"}     binary data is base64
//	{"op":"close","conn":1,"code":4001,"reason":"…"}    no code: ws.close()
//	{"op":"terminate","conn":1}                         ws.terminate(): drop TCP
//
// When stdin ends, every connection is dropped and the process exits.
"use strict";

const readline = require("node:readline");
const { WebSocketServer } = require("ws");

const conns = new Map(); // number: ws
let last = 0;

function emit(ev) {
  // Writes to a pipe are synchronous on Linux, so no line is lost at exit.
  process.stdout.write(JSON.stringify(ev) + "\n");
}

const wss = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  perMessageDeflate: { threshold: 0 },
  maxPayload: 64 << 20,
});

// The answer's Sec-WebSocket-Extensions, taken from the headers ws is about
// to send, keyed by the request.
const answers = new WeakMap();
wss.on("headers", (headers, req) => {
  const ext = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
  answers.set(req, ext ? ext.replace(/^[^:]*:\s*/, "") : "");
});

wss.on("listening", () => emit({ event: "listening", port: wss.address().port }));

wss.on("connection", (ws, req) => {
  const conn = ++last;
  conns.set(conn, ws);
  emit({
    event: "open",
    conn,
    protocol: ws.protocol,
    extensions: answers.get(req) || "",
    negotiated: ws.extensions,
  });
  ws.on("message", (data, isBinary) => {
    if (isBinary) emit({ event: "message", conn, type: "binary", data: data.toString("base64") });
    else emit({ event: "message", conn, type: "text", data: data.toString("utf8") });
    ws.send(data, { binary: isBinary });
  });
  ws.on("error", (err) => emit({ event: "error", conn, message: err.message }));
  // The EventTarget form, for wasClean: both close frames went through.
  ws.addEventListener("close", (ev) => {
    conns.delete(conn);
    emit({ event: "close", conn, code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
  });
});

function run(c) {
  const ws = conns.get(c.conn || last);
  if (!ws) throw new Error("no open connection " + (c.conn || last));
  switch (c.op) {
    case "send":
      if (c.type === "text") ws.send(c.data || "", { binary: false });
      else ws.send(Buffer.from(c.data || "", "base64"), { binary: true });
      break;
    case "close":
      if (c.code) ws.close(c.code, c.reason || "");
      else ws.close();
      break;
    case "terminate":
      ws.terminate();
      break;
    default:
      throw new Error("unknown op " + c.op);
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  try {
    run(JSON.parse(line));
  } catch (err) {
    emit({ event: "error", message: "command failed: " + err.message });
  }
});
lines.on("close", () => {
  for (const ws of conns.values()) ws.terminate();
  process.exit(0);
});
