#!/usr/bin/env bash
# Where Tidings' CPU goes during a fan-out (issue 5): starts `tidings serve` under
# `node --cpu-prof`, pinned to core 0, runs `tidings bench` on core 1 against it, stops the server
# (SIGTERM, so V8 writes the profile) and prints bench/cpu-profile-summary.mjs for the
# publishing window only (`--during broadcastPublication`: without start-up and connecting).
#
# Usage (after `npm run build`):
#   bench/profile-fanout.sh                       # 5,000 subscribers, 20 msg/s, 8 s
#   NS=2000 RATE=0 bench/profile-fanout.sh        # saturating
#   SCENARIO=connect-storm DURING=completeUpgrade bench/profile-fanout.sh   # where a connect's CPU goes
# Environment: NS [5000], RATE [20], DURATION [8], SCENARIO (a `tidings bench --scenario`)
# [fanout], DURING (the function whose first and last sample bound the summary)
# [broadcastPublication], TRANSPORT (a `tidings bench --transport`:
# centrifuge-ws, tidings-sse or tidings-ndjson) [centrifuge-ws], PORT [8961], TOP [30],
# OUT (folder for the .cpuprofile, bench JSON and server log) [$TMPDIR/tidings-profile-<time>],
# CLIENT: bench (`tidings bench`) or c (bench/c-client/fanlat.c, built here with cc; fanout over
# centrifuge-ws at a fixed rate only, so the load client's own cost stays off the server's
# core and out of the latency) [bench], INTERVAL (V8's sampling interval in µs,
# `--cpu-prof-interval`; a short run of a small fan-out needs a finer one to catch the window) [1000].
# Open the .cpuprofile in Chrome DevTools (Performance panel) for the call tree.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
NS="${NS:-5000}"
RATE="${RATE:-20}"
DURATION="${DURATION:-8}"
TRANSPORT="${TRANSPORT:-centrifuge-ws}"
SCENARIO="${SCENARIO:-fanout}"
CLIENT="${CLIENT:-bench}"
DURING="${DURING:-broadcastPublication}"
PORT="${PORT:-8961}"
TOP="${TOP:-30}"
INTERVAL="${INTERVAL:-1000}"
[[ "$INTERVAL" =~ ^[1-9][0-9]*$ ]] || { echo "profile-fanout.sh: INTERVAL must be a positive number of µs" >&2; exit 1; }
OUT="${OUT:-${TMPDIR:-/tmp}/tidings-profile-$(date -u +%Y%m%dT%H%M%SZ)}"
tidings=(node apps/tidings/bin/tidings.js)
[[ -f apps/tidings/dist/cli.js ]] || { echo "profile-fanout.sh: run \`npm run build\` first" >&2; exit 1; }
case "$TRANSPORT" in
  centrifuge-ws) url="ws://127.0.0.1:$PORT/connection/websocket" ;;
  tidings-sse) url="http://127.0.0.1:$PORT/connection/sse" ;;
  tidings-ndjson) url="http://127.0.0.1:$PORT/connection/stream" ;;
  *) echo "profile-fanout.sh: TRANSPORT must be centrifuge-ws, tidings-sse or tidings-ndjson" >&2; exit 1 ;;
esac
mkdir -p "$OUT"
if [[ "$CLIENT" == c ]]; then
  if [[ "$TRANSPORT" != centrifuge-ws || "$SCENARIO" != fanout || "$RATE" == 0 ]]; then
    echo "profile-fanout.sh: CLIENT=c profiles a centrifuge-ws fanout at a fixed RATE only" >&2
    exit 1
  fi
  cc -O2 -Wall -o "$OUT/fanlat" bench/c-client/fanlat.c || {
    echo "profile-fanout.sh: could not build bench/c-client/fanlat.c; install a C compiler (apt-get install gcc)" >&2
    exit 1
  }
elif [[ "$CLIENT" != bench ]]; then
  echo "profile-fanout.sh: CLIENT must be bench or c" >&2
  exit 1
fi
config=bench/peers/tidings.json # shared with compare.sh; TIDINGS_HTTP_PORT overrides its port
TIDINGS_HTTP_PORT="$PORT" taskset -c 0 node --cpu-prof --cpu-prof-interval "$INTERVAL" --cpu-prof-dir="$OUT" apps/tidings/bin/tidings.js serve --config "$config" >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for ((i = 0; i < 100; i++)); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done
token="$("${tidings[@]}" gentoken --config "$config" --user bench --ttl 3600)"
echo "profiling: $SCENARIO, $NS subscribers, rate $RATE, $DURATION s, $TRANSPORT, client $CLIENT (server pid $server, output in $OUT)" >&2
if [[ "$CLIENT" == c ]]; then
  taskset -c 1 "$OUT/fanlat" --url "$url" --api-url "http://127.0.0.1:$PORT" --token "$token" \
    --api-key bench-api-key-0123456789 --subscribers "$NS" --rate "$RATE" --duration "$DURATION" \
    --prefix bench:fan- --server-pid "$server" --out "$OUT/bench.json" --transport "$TRANSPORT"
else
  taskset -c 1 "${tidings[@]}" bench --transport "$TRANSPORT" --url "$url" --token "$token" \
    --api-key bench-api-key-0123456789 -n "$NS" --rate "$RATE" --duration "$DURATION" \
    --channel-prefix bench:fan- --scenario "$SCENARIO" --server-pid "$server" --out "$OUT/bench.json"
fi
kill -TERM "$server"
wait "$server" || true
trap - EXIT
profile="$(ls -t "$OUT"/*.cpuprofile | head -n 1)"
echo
node bench/cpu-profile-summary.mjs "$profile" --top "$TOP" --during "$DURING"
