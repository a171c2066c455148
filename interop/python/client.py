"""A WebSocket client on Python's websockets (asyncio API), driven by the Go tests.

Run it with Debian's /usr/bin/python3, which imports Debian's
python3-websockets. It reads commands as JSON lines on stdin and reports what
happens as JSON lines on stdout, as interop/node/client.js does:

    {"op": "open", "url": "ws://...", "protocols": ["a", "b"], "origin": "http://..."}
    {"op": "send", "type": "text", "data": "..."}    binary data is base64
    {"op": "send", "type": "text", "fragments": ["...", "..."]}   one message, a frame each
    {"op": "close", "code": 4000, "reason": "..."}   no code: ws.close()
    {"op": "ping", "data": "..."}                    await ws.ping(payload), then its waiter
    {"op": "stats"}                                  bytes read and written on the socket

There is no terminate: the tests SIGKILL this process instead. Events: open
(with the chosen protocol, the Sec-WebSocket-Extensions the server answered
and the extensions websockets made of it), message, pong, stats, rejected,
error, and close, reported once the TCP connection is closed, with
ws.close_code and ws.close_reason. When stdin ends, the process exits at once.

websockets always offers permessage-deflate (compression="deflate", its
default) and then compresses every message.
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


async def receive(ws):
    try:
        async for message in ws:
            if isinstance(message, str):
                emit({"event": "message", "type": "text", "data": message})
            else:
                data = base64.b64encode(message).decode("ascii")
                emit({"event": "message", "type": "binary", "data": data})
    except websockets.ConnectionClosed:
        pass  # close_code says how
    # The client waits for the server to close TCP (up to close_timeout).
    await ws.wait_closed()
    emit({"event": "close", "code": ws.close_code, "reason": ws.close_reason})


async def ping(ws, payload):
    waiter = await ws.ping(payload)
    await waiter
    emit({"event": "pong", "data": payload.decode("utf-8")})


class Counts:
    """Bytes through the socket once open: websockets writes with
    transport.write and the transport hands what it reads to data_received."""

    def __init__(self, ws):
        self.read = self.written = 0
        write, received = ws.transport.write, ws.data_received

        def counted_write(data):
            self.written += len(data)
            write(data)

        def counted_received(data):
            self.read += len(data)
            received(data)

        ws.transport.write = counted_write
        ws.data_received = counted_received


async def main():
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=64 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    tasks = set()

    def spawn(coro):
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    ws = None
    counts = None
    while True:
        line = await stdin.readline()
        if not line:
            break
        c = json.loads(line)
        op = c["op"]
        try:
            if op == "open":
                try:
                    ws = await websockets.connect(
                        c["url"],
                        subprotocols=c.get("protocols") or None,
                        origin=c.get("origin"),
                        # Twice the default of 1 MiB: websockets checks each
                        # frame's compressed length against what is left of
                        # max_size, and deflate makes 1 MiB of random bytes
                        # a little longer.
                        max_size=2 << 20,
                    )
                except websockets.InvalidStatusCode as e:
                    emit({"event": "rejected", "status": e.status_code})
                    continue
                counts = Counts(ws)
                emit(
                    {
                        "event": "open",
                        "protocol": ws.subprotocol or "",
                        "extensions": ws.response_headers.get("Sec-WebSocket-Extensions", ""),
                        "negotiated": ", ".join(repr(e) for e in ws.extensions),
                    }
                )
                spawn(receive(ws))
            elif op == "send":
                if "fragments" in c:
                    # An iterable is sent as one message, a frame per item.
                    frags = c["fragments"]
                    if c["type"] == "binary":
                        frags = [base64.b64decode(f) for f in frags]
                    await ws.send(frags)
                else:
                    data = c.get("data", "")
                    await ws.send(data if c["type"] == "text" else base64.b64decode(data))
            elif op == "close":
                if c.get("code"):
                    spawn(ws.close(c["code"], c.get("reason", "")))
                else:
                    spawn(ws.close())
            elif op == "ping":
                spawn(ping(ws, c.get("data", "").encode("utf-8")))
            elif op == "stats":
                emit({"event": "stats", "read": counts.read, "written": counts.written})
            else:
                raise ValueError("unknown op " + op)
        except Exception as e:  # report, and keep taking commands
            emit({"event": "error", "message": "command failed: %r" % e})
    sys.stdout.flush()
    os._exit(0)


asyncio.run(main())
