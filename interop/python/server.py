"""A WebSocket echo server on Python's websockets (asyncio API), for the Go
tests of our client (Dial).

Run it with Debian's /usr/bin/python3, which imports Debian's
python3-websockets (10.x). It listens on an ephemeral port of 127.0.0.1,
echoes every message with its type, and accepts permessage-deflate (its
default, compression="deflate", which compresses every message) when the
client offers it. Events and commands are JSON lines, as for
interop/node/server.js:

    {"event": "listening", "port": N}                      first, once
    {"event": "open", "conn": 1, "protocol": "...", "extensions": "...", "negotiated": "..."}
    {"event": "message", "conn": 1, "type": "text", "data": "..."}   binary is base64
    {"event": "close", "conn": 1, "code": N, "reason": "...", "wasClean": true,
     "exception": "ConnectionClosedOK"}
    {"event": "error", "conn": 1, "message": "..."}

    {"op": "send", "conn": 1, "type": "text", "data": "..."}
    {"op": "close", "conn": 1, "code": 4001, "reason": "..."}   no code: ws.close()
    {"op": "terminate", "conn": 1}       transport.abort(): drop TCP at once

conn numbers the connections from 1; 0 or none means the latest. The close
event comes once websockets has closed TCP, with ws.close_code and
ws.close_reason as it reports them (1006 when no close frame arrived).
websockets has no wasClean: it is reported true when both close frames went
through (close_rcvd and close_sent), and "exception" names the exception
websockets raises then (ConnectionClosedOK only for codes 1000 and 1001).
When stdin ends, the process exits at once.
"""

import asyncio
import base64
import json
import os
import sys

import websockets


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


conns = {}
last = 0


async def echo(ws, _path):
    global last
    last += 1
    conn = last
    conns[conn] = ws
    emit(
        {
            "event": "open",
            "conn": conn,
            "protocol": ws.subprotocol or "",
            "extensions": ws.response_headers.get("Sec-WebSocket-Extensions", ""),
            "negotiated": ", ".join(repr(e) for e in ws.extensions),
        }
    )
    try:
        async for message in ws:
            if isinstance(message, str):
                emit({"event": "message", "conn": conn, "type": "text", "data": message})
            else:
                data = base64.b64encode(message).decode("ascii")
                emit({"event": "message", "conn": conn, "type": "binary", "data": data})
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass  # close_code says how
    # The server closes TCP after the handshake; wait until it has.
    await ws.wait_closed()
    conns.pop(conn, None)
    emit(
        {
            "event": "close",
            "conn": conn,
            "code": ws.close_code,
            "reason": ws.close_reason,
            "wasClean": ws.close_rcvd is not None and ws.close_sent is not None,
            "exception": type(ws.connection_closed_exc()).__name__,
        }
    )


async def main():
    server = await websockets.serve(echo, "127.0.0.1", 0, max_size=64 << 20)
    port = server.sockets[0].getsockname()[1]
    emit({"event": "listening", "port": port})

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=64 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    tasks = set()

    def spawn(coro):
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    while True:
        line = await stdin.readline()
        if not line:
            break
        c = json.loads(line)
        try:
            conn = c.get("conn") or last
            ws = conns.get(conn)
            if ws is None:
                raise ValueError("no open connection %d" % conn)
            op = c["op"]
            if op == "send":
                data = c.get("data", "")
                await ws.send(data if c["type"] == "text" else base64.b64decode(data))
            elif op == "close":
                if c.get("code"):
                    spawn(ws.close(c["code"], c.get("reason", "")))
                else:
                    spawn(ws.close())
            elif op == "terminate":
                ws.transport.abort()
            else:
                raise ValueError("unknown op " + op)
        except Exception as e:  # report, and keep taking commands
            emit({"event": "error", "message": "command failed: %r" % e})
    sys.stdout.flush()
    os._exit(0)


asyncio.run(main())
