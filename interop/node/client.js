// A WebSocket client on Node's `ws` package, driven by the Go tests.
//
// It reads commands as JSON lines on stdin and reports what happens as JSON
// lines on stdout, one event per line:
//
//	{"op":"open","url":"ws://…","protocols":["a","b"],"origin":"http://…"}
//	{"op":"open","url":"ws://…","deflate":{"clientNoContextTakeover":true,"serverNoContextTakeover":true}}
//	                                            permessage-deflate on every message (threshold 0)
//	{"op":"send","type":"text","data":"…"}      binary data is base64
//	{"op":"send","type":"text","fragments":["…","…"]}   one message, a frame each
//	{"op":"close","code":4000,"reason":"…"}     no code: ws.close()
//	{"op":"terminate"}                          ws.terminate(): drop TCP
//	{"op":"ping","data":"…"}                    ws.ping(payload)
//	{"op":"stats"}                              bytes read and written on the socket
//
// Events: open (with the chosen protocol, the Sec-WebSocket-Extensions the
// server answered and ws.extensions), message (type, data), pong (data),
// stats (read, written), rejected (an HTTP status instead of 101), error
// (message) and close (the code and reason the close event reports). When
// stdin ends, the socket is dropped and the process exits.
//
// Without "deflate", ws offers permessage-deflate with its defaults, which
// leave messages under 1 KiB uncompressed.
"use strict";

const readline = require("node:readline");
const WebSocket = require("ws");

let ws = null;
let socket = null; // the TCP socket under ws, for its byte counts

function emit(ev) {
  // Writes to a pipe are synchronous on Linux, so no line is lost at exit.
  process.stdout.write(JSON.stringify(ev) + "\n");
}

function open(c) {
  const options = {};
  if (c.origin) options.origin = c.origin;
  if (c.deflate) {
    // Only the options asked for: ws fails a response with
    // client_no_context_takeover when that option is false rather than unset.
    const deflate = { threshold: 0 };
    if (c.deflate.clientNoContextTakeover) deflate.clientNoContextTakeover = true;
    if (c.deflate.serverNoContextTakeover) deflate.serverNoContextTakeover = true;
    options.perMessageDeflate = deflate;
  }
  ws = new WebSocket(c.url, c.protocols || [], options);
  let extensions = "";
  ws.on("upgrade", (res) => {
    socket = res.socket;
    extensions = res.headers["sec-websocket-extensions"] || "";
  });
  ws.on("open", () =>
    emit({ event: "open", protocol: ws.protocol, extensions, negotiated: ws.extensions }),
  );
  ws.on("message", (data, isBinary) => {
    if (isBinary) emit({ event: "message", type: "binary", data: data.toString("base64") });
    else emit({ event: "message", type: "text", data: data.toString("utf8") });
  });
  ws.on("pong", (data) => emit({ event: "pong", data: data.toString("utf8") }));
  ws.on("error", (err) => {
    // ws reports a refused handshake as an error naming the HTTP status.
    const m = /Unexpected server response: (\d+)/.exec(err.message);
    if (m) emit({ event: "rejected", status: Number(m[1]) });
    else emit({ event: "error", message: err.message });
  });
  ws.on("close", (code, reason) => emit({ event: "close", code, reason: reason.toString("utf8") }));
}

function run(c) {
  switch (c.op) {
    case "open":
      open(c);
      break;
    case "send":
      if (c.fragments) {
        // One message in fragments: ws sends a frame per call until fin.
        // Base64 fragments of a text message may split a character.
        c.fragments.forEach((f, i) => {
          const data = c.type === "binary" || c.base64 ? Buffer.from(f, "base64") : f;
          ws.send(data, { binary: c.type === "binary", fin: i === c.fragments.length - 1 });
        });
      } else if (c.type === "text") ws.send(c.data || "", { binary: false });
      else ws.send(Buffer.from(c.data || "", "base64"), { binary: true });
      break;
    case "close":
      if (c.code) ws.close(c.code, c.reason || "");
      else ws.close();
      break;
    case "terminate":
      ws.terminate();
      break;
    case "ping":
      ws.ping(Buffer.from(c.data || "", "utf8"));
      break;
    case "stats":
      emit({ event: "stats", read: socket.bytesRead, written: socket.bytesWritten });
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
  if (ws && ws.readyState !== WebSocket.CLOSED) ws.terminate();
});
