#!/usr/bin/env bash
# The Autobahn TestSuite against this package, when the suite stands beside
# the project (../shared/autobahn, as on the project's machines; a clone
# elsewhere has none, and this script then says so and skips): its fuzzing
# client against our server (autobahn/server), then its fuzzing server
# against our client (autobahn/client). Every case of groups 1-7, 9 and 10
# must end OK or INFORMATIONAL, its closing handshake too; the suite's
# compression groups (12, 13) take about 20 minutes and run only when
# AUTOBAHN_CASES asks for them. AUTOBAHN_SIDES="client" (or "server") runs
# one side only.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"
suite="$(cd ../.. && pwd)/shared/autobahn"
if [ ! -x "$suite/run.sh" ]; then
  echo "== autobahn: $suite not found, skipped"
  exit 0
fi
cases="${AUTOBAHN_CASES:-1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*}"
bin=$(mktemp -d -t ws-autobahn.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$bin"' EXIT

# check REPORT_LINE: every case OK or INFORMATIONAL, close behavior too.
check() {
  local index
  index=$(sed -n 's/^report: \([^ ]*index.json\).*/\1/p' "$1")
  [ -n "$index" ] || { echo "autobahn: no report"; return 1; }
  /usr/bin/python3 - "$index" <<'PY'
import json, sys
good = {"OK", "INFORMATIONAL"}
bad = []
total = 0
for agent, cases in json.load(open(sys.argv[1])).items():
    for case, r in cases.items():
        total += 1
        if r["behavior"] not in good or r["behaviorClose"] not in good:
            bad.append(f"{agent} {case}: {r['behavior']} / close {r['behaviorClose']}")
print(f"autobahn: {total} cases, {len(bad)} not OK")
for line in bad:
    print("  " + line)
sys.exit(1 if bad or total == 0 else 0)
PY
}

sides="${AUTOBAHN_SIDES:-server client}"
status=0

if [[ " $sides " == *" server "* ]]; then
  echo "== autobahn: our server"
  go build -o "$bin/server" ./autobahn/server
  port=$((20000 + RANDOM % 20000))
  "$bin/server" -addr "127.0.0.1:$port" > "$bin/server.log" 2>&1 &
  for _ in $(seq 50); do
    (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  AGENT=websocket-server TIMEOUT=900 "$suite/run.sh" "ws://127.0.0.1:$port/" "$cases" | tee "$bin/server.out" || status=1
  check "$bin/server.out" || status=1
fi

if [[ " $sides " == *" client "* ]]; then
  echo "== autobahn: our client"
  go build -o "$bin/client" ./autobahn/client
  # A case of groups 1-10 takes at most seconds; in 12 and 13 the suite's
  # Python server compresses up to 1000 messages of 128 KiB, which took
  # 60 s for 13.1.17 and 13.1.18 on a loaded machine.
  case_timeout=60s
  [[ "$cases" == *1[23].* ]] && case_timeout=300s
  TIMEOUT=2400 "$suite/run-client.sh" "$cases" -- "$bin/client" -agent websocket-client \
    -case-timeout "$case_timeout" '{URL}' | tee "$bin/client.out" || status=1
  check "$bin/client.out" || status=1
fi
exit $status
