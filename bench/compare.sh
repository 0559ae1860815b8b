#!/usr/bin/env bash
# Fan-out matrix, Tidings and its peers side by side, same harness, same run (issue 5).
# Each server is pinned to core 0 (`taskset -c 0`), the load generator to core 1, and every
# server is started fresh for each scenario. Prints a table of ratios (Tidings / peer) and
# keeps every run's JSON in $OUT.
#
# Usage (after `npm run build`):
#   bench/compare.sh
# Environment (defaults in brackets):
#   PEERS      peers to run, tidings first ["tidings raw-ws"]
#   NS         subscriber counts ["2000"]; the issue's matrix is "2000 5000"
#   RATES      publications/s, 0 = saturating ["20 0"]
#   DURATION   seconds of publishing per run [10]
#   WORKERS    load-generator processes [2]
#   PAYLOAD    payload bytes [100]
#   CODEC      json (every peer) or protobuf (tidings only) [json]
#   SCENARIO   fanout, or idle: hold NS connections DURATION s, report server RSS per
#              connection (RATES is ignored; bench/idle-memory.sh runs it at 10,000) [fanout]
#   PORT       port the peers listen on [8917]
#   OUT        folder for the JSON files and the table [$TMPDIR/tidings-compare-<timestamp>]
#
# Adding a peer (Socket.IO, Nchan, Mosquitto later): define `peer_<name>_start PORT` that starts
# the server in the background pinned with `taskset -c 0`, and sets PEER_PID (the server process,
# for /proc), PEER_URL (WebSocket URL), PEER_API_URL, PEER_PREFIX (channel prefix), and optionally
# PEER_TOKEN / PEER_API_KEY; add its name to PEERS. The harness drives it with the Centrifuge
# JSON protocol, so a peer that speaks another protocol needs an adapter in front of it or a
# transport in `tidings bench`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PEERS="${PEERS:-tidings raw-ws}"
NS="${NS:-2000}"
RATES="${RATES:-20 0}"
DURATION="${DURATION:-10}"
WORKERS="${WORKERS:-2}"
PAYLOAD="${PAYLOAD:-100}"
CODEC="${CODEC:-json}"
SCENARIO="${SCENARIO:-fanout}"
OUT="${OUT:-${TMPDIR:-/tmp}/tidings-compare-$(date -u +%Y%m%dT%H%M%SZ)}"
PORT="${PORT:-8917}"
tidings=(node apps/tidings/bin/tidings.js)
mkdir -p "$OUT"

if [[ ! -f apps/tidings/dist/cli.js ]]; then
  echo "compare.sh: run \`npm run build\` first" >&2
  exit 1
fi

wait_port() {
  local port=$1 i
  for ((i = 0; i < 100; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "compare.sh: nothing listens on port $port after 10 s" >&2
  return 1
}

peer_tidings_start() {
  local port=$1 config="$OUT/tidings-config.json"
  cat >"$config" <<EOF
{
  "http": { "host": "127.0.0.1", "port": $port },
  "auth": { "keys": [{ "alg": "HS256", "secret": "compare-secret-0123456789abcdef0123456789" }] },
  "api": { "keys": ["compare-api-key-0123456789"] },
  "channels": { "namespaces": { "bench": { "allowSubscribeForClient": true } } },
  "log": { "level": "warn" }
}
EOF
  taskset -c 0 "${tidings[@]}" serve --config "$config" >>"$OUT/tidings-server.log" 2>&1 &
  PEER_PID=$!
  PEER_URL="ws://127.0.0.1:$port/connection/websocket"
  PEER_API_URL="http://127.0.0.1:$port"
  PEER_PREFIX="bench:fan-"
  PEER_API_KEY="compare-api-key-0123456789"
  PEER_TOKEN="$("${tidings[@]}" gentoken --config "$config" --user bench --ttl 86400)"
}

peer_raw_ws_start() {
  local port=$1
  taskset -c 0 node bench/peers/raw-ws-server.mjs --port "$port" >>"$OUT/raw-ws-server.log" 2>&1 &
  PEER_PID=$!
  PEER_URL="ws://127.0.0.1:$port/connection/websocket"
  PEER_API_URL="http://127.0.0.1:$port"
  PEER_PREFIX="fan-"
  PEER_API_KEY=""
  PEER_TOKEN=""
}

run_one() {
  local peer=$1 n=$2 rate=$3 start="peer_${1//-/_}_start"
  local out="$OUT/$peer-n$n-r$rate.json"
  PEER_TOKEN="" PEER_API_KEY=""
  "$start" "$PORT"
  wait_port "$PORT"
  local args=(bench --url "$PEER_URL" --api-url "$PEER_API_URL" --channel-prefix "$PEER_PREFIX"
    --subscribers "$n" --rate "$rate" --duration "$DURATION" --workers "$WORKERS"
    --payload-bytes "$PAYLOAD" --codec "$CODEC" --server-pid "$PEER_PID" --out "$out" --no-progress
    --scenario "$SCENARIO")
  [[ -n "$PEER_TOKEN" ]] && args+=(--token "$PEER_TOKEN")
  [[ -n "$PEER_API_KEY" ]] && args+=(--api-key "$PEER_API_KEY")
  echo "== $peer, $n subscribers, rate $rate" >&2
  taskset -c 1 "${tidings[@]}" "${args[@]}" >&2 || echo "compare.sh: $peer n=$n rate=$rate failed" >&2
  kill "$PEER_PID" 2>/dev/null || true
  wait "$PEER_PID" 2>/dev/null || true
}

[[ "$SCENARIO" == idle ]] && RATES=0
for n in $NS; do
  for rate in $RATES; do
    for peer in $PEERS; do run_one "$peer" "$n" "$rate"; done
  done
done

if [[ "$SCENARIO" == idle ]]; then
  node bench/idle-table.mjs "$OUT" $PEERS | tee "$OUT/table.md"
else
  node bench/compare-table.mjs "$OUT" $PEERS | tee "$OUT/table.md"
fi
