#!/usr/bin/env bash
# Interop tests against real peers: installs headless Chromium and Python's
# websockets from Debian and Node's ws from npm (pinned in package-lock.json),
# then runs the Go tests of this module. Run from anywhere; .ci/run calls it
# after the unit tests.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"

echo "== interop: peers"
# As root, which CI and the project's machines are.
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y chromium python3-websockets
npm ci --no-audit --no-fund

echo "== interop: versions"
go version
/usr/bin/chromium --version 2>/dev/null
node --version
node -p 'require("ws/package.json").version' | sed 's/^/ws /'
/usr/bin/python3 -c 'import websockets; print("websockets", websockets.__version__)'

echo "== interop: gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt wants changes in:"; echo "$unformatted"
  exit 1
fi

echo "== interop: go vet"
go vet ./...

echo "== interop: tests"
go test -race -count=1 ./...
