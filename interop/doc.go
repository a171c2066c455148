// Package interop proves the websocket package against real peers: headless
// Chromium, Node's ws and Python's websockets. It has only tests; see
// README.md for what they check and how to run them.
package interop
