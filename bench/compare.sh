#!/usr/bin/env bash
# Fan-out matrix, Tidings and its peers side by side, same harness, same run (issue 5).
# Each server is pinned to core 0 (`taskset -c 0`), the load generator to core 1, and every
# server is started fresh for each run. Prints a table of medians and ratios (Tidings ÷ peer) and
# keeps every run's JSON in $OUT.
#
# Usage (after `npm run build`):
#   bench/compare.sh
#   TRANSPORT=sse bench/compare.sh        # tidings-sse against nchan-sse, same scenarios
# Environment (defaults in brackets):
#   PEERS      peers to run, the one compared first ["tidings raw-ws socketio nchan"]
#   TRANSPORT  ws, sse or ndjson ["ws"]; a peer without that transport is skipped. With ws:
#              tidings and raw-ws speak centrifuge-ws, socketio socketio, nchan nchan-ws; with
#              sse: tidings-sse and nchan-sse; with ndjson: tidings-ndjson only
#   NS         subscriber counts ["2000"]; the issue's matrix is "2000 5000"
#   RATES      publications/s, 0 = saturating ["20 0"]
#   DURATION   seconds of publishing per run [10]
#   WARMUP     seconds of the same publishing before each measured run, not counted [2]
#   RUNS       runs of every scenario; the table shows medians [3]
#   WORKERS    load-generator processes [2]
#   PAYLOAD    payload bytes [100]
#   PUBCONC    publish requests in flight when saturating [64]; 1 = one publication per
#              event-loop turn, so every peer writes one message per frame (no coalescing)
#   CODEC      json (every peer) or protobuf (tidings only) [json]
#   PORT       the peers' port [8917]
#   SCENARIO   fanout, or idle: hold NS connections DURATION s, report server RSS per
#              connection (RATES is ignored; bench/idle-memory.sh runs it at 10,000) [fanout]
#   CLIENT     bench (`tidings bench`, Node) or c: bench/c-client/fanlat.c, an independent C client
#              (epoll, one process) built here with cc; ws transport at a fixed rate only, peers
#              tidings, raw-ws and nchan (socketio has no C adapter and is skipped) [bench]
#   BASELINE   a built checkout of an earlier commit, for peer tidings-base: the same server and
#              config from that tree, to measure a change side by side (e.g. `git archive <commit>
#              | tar -x -C /tmp/base && cd /tmp/base && npm ci`) []
#   NCHAN_MODULE  path of Debian's nchan module [/usr/lib/nginx/modules/ngx_nchan_module.so]
#   OUT        folder for the JSON files and the table [$TMPDIR/tidings-compare-<timestamp>]
#
# Adding a peer (Mosquitto, later): define `peer_<name>_start PORT` that returns 3 when the peer
# has no subscriber transport for $TRANSPORT, else starts the server in the background pinned with
# `taskset -c 0` and sets PEER_PID (the process to stop), PEER_TRANSPORT (a `tidings bench
# --transport`), PEER_URL (its subscriber endpoint), PEER_API_URL (where publishes go),
# PEER_PREFIX (channel prefix), and optionally PEER_STATS_PID (the process /proc is read from,
# when it is not PEER_PID), PEER_TOKEN and PEER_API_KEY; add its name to PEERS. A new protocol
# also needs an adapter in apps/tidings/src/bench/clients/ (see bench/README.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PEERS="${PEERS:-tidings raw-ws socketio nchan}"
TRANSPORT="${TRANSPORT:-ws}"
NS="${NS:-2000}"
RATES="${RATES:-20 0}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
RUNS="${RUNS:-3}"
WORKERS="${WORKERS:-2}"
PAYLOAD="${PAYLOAD:-100}"
PUBCONC="${PUBCONC:-64}"
CODEC="${CODEC:-json}"
SCENARIO="${SCENARIO:-fanout}"
CLIENT="${CLIENT:-bench}"
NCHAN_MODULE="${NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}"
OUT="${OUT:-${TMPDIR:-/tmp}/tidings-compare-$(date -u +%Y%m%dT%H%M%SZ)}"
PORT="${PORT:-8917}"
tidings=(node apps/tidings/bin/tidings.js)
mkdir -p "$OUT"

if [[ ! -f apps/tidings/dist/cli.js ]]; then
  echo "compare.sh: run \`npm run build\` first" >&2
  exit 1
fi
if [[ "$CLIENT" == c ]]; then
  if [[ "$TRANSPORT" != ws || "$SCENARIO" != fanout ]]; then
    echo "compare.sh: CLIENT=c measures WebSocket fan-out only (TRANSPORT=ws SCENARIO=fanout)" >&2
    exit 1
  fi
  cc -O2 -Wall -o "$OUT/fanlat" bench/c-client/fanlat.c || {
    echo "compare.sh: could not build bench/c-client/fanlat.c; install a C compiler (apt-get install gcc)" >&2
    exit 1
  }
elif [[ "$CLIENT" != bench ]]; then
  echo "compare.sh: CLIENT must be bench or c" >&2
  exit 1
fi
case "$TRANSPORT" in ws | sse | ndjson) ;; *)
  echo "compare.sh: TRANSPORT must be ws, sse or ndjson" >&2
  exit 1
  ;;
esac

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
  local port=$1 config=bench/peers/tidings.json
  case "$TRANSPORT" in
    ws) PEER_TRANSPORT=centrifuge-ws PEER_URL="ws://127.0.0.1:$port/connection/websocket" ;;
    sse) PEER_TRANSPORT=tidings-sse PEER_URL="http://127.0.0.1:$port/connection/sse" ;;
    ndjson) PEER_TRANSPORT=tidings-ndjson PEER_URL="http://127.0.0.1:$port/connection/stream" ;;
  esac
  # Config shared with bench/profile-fanout.sh (memory engine, HS256, the bench: namespace); the
  # port comes from the environment, which overrides the file.
  TIDINGS_HTTP_PORT="$port" taskset -c 0 "${tidings[@]}" serve --config "$config" >>"$OUT/tidings-server.log" 2>&1 &
  PEER_PID=$!
  PEER_API_URL="http://127.0.0.1:$port"
  PEER_PREFIX="bench:fan-"
  PEER_API_KEY="bench-api-key-0123456789"
  PEER_TOKEN="$("${tidings[@]}" gentoken --config "$config" --user bench --ttl 86400)"
}

# The same server from $BASELINE (an earlier build), with this tree's config file.
peer_tidings_base_start() {
  if [[ -z "${BASELINE:-}" || ! -f "$BASELINE/apps/tidings/dist/cli.js" ]]; then
    echo "compare.sh: peer tidings-base needs BASELINE=<a built checkout>" >&2
    return 1
  fi
  local saved=("${tidings[@]}")
  tidings=(node "$BASELINE/apps/tidings/bin/tidings.js")
  peer_tidings_start "$@"
  tidings=("${saved[@]}")
}

peer_raw_ws_start() {
  local port=$1
  [[ "$TRANSPORT" == ws ]] || return 3
  taskset -c 0 node bench/peers/raw-ws-server.mjs --port "$port" >>"$OUT/raw-ws-server.log" 2>&1 &
  PEER_PID=$!
  PEER_TRANSPORT=centrifuge-ws
  PEER_URL="ws://127.0.0.1:$port/connection/websocket"
  PEER_API_URL="http://127.0.0.1:$port"
  PEER_PREFIX="fan-"
}

peer_socketio_start() {
  local port=$1
  [[ "$TRANSPORT" == ws ]] || return 3
  taskset -c 0 node bench/peers/socketio-server.mjs --port "$port" >>"$OUT/socketio-server.log" 2>&1 &
  PEER_PID=$!
  PEER_TRANSPORT=socketio
  PEER_URL="http://127.0.0.1:$port"
  PEER_API_URL="http://127.0.0.1:$port"
  PEER_PREFIX="fan-"
}

# nginx's master process only supervises: the worker it forks serves every connection, so /proc
# is read from the worker (PEER_STATS_PID), while stopping goes to the master (PEER_PID).
peer_nchan_start() {
  local port=$1 prefix="$OUT/nchan-prefix" i
  case "$TRANSPORT" in
    ws) PEER_TRANSPORT=nchan-ws PEER_URL="ws://127.0.0.1:$port/sub" ;;
    sse) PEER_TRANSPORT=nchan-sse PEER_URL="http://127.0.0.1:$port/sub" ;;
    *) return 3 ;;
  esac
  if [[ ! -f "$NCHAN_MODULE" ]]; then
    echo "compare.sh: $NCHAN_MODULE missing: apt-get install libnginx-mod-nchan" >&2
    return 3
  fi
  rm -rf "$prefix" && mkdir -p "$prefix"
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@NCHAN_MODULE@|$NCHAN_MODULE|g" \
    bench/peers/nchan.conf >"$prefix/nchan.conf"
  taskset -c 0 nginx -p "$prefix" -c "$prefix/nchan.conf" -e "$prefix/error.log" >>"$OUT/nchan-server.log" 2>&1 &
  PEER_PID=$!
  wait_port "$port"
  for ((i = 0; i < 50; i++)); do
    PEER_STATS_PID="$(pgrep -P "$PEER_PID" | head -n 1 || true)"
    [[ -n "$PEER_STATS_PID" ]] && break
    sleep 0.1
  done
  PEER_API_URL="http://127.0.0.1:$port"
  PEER_PREFIX="fan-"
}

run_one() {
  local peer=$1 n=$2 rate=$3 run=$4 start="peer_${1//-/_}_start" status=0
  local out="$OUT/$peer-n$n-r$rate-$run.json"
  if [[ "$CLIENT" == c && ("$peer" == socketio || "$rate" == 0) ]]; then
    echo "== $peer, rate $rate: the C client has no socketio adapter and no saturating mode, skipped" >&2
    return 0
  fi
  PEER_TOKEN="" PEER_API_KEY="" PEER_STATS_PID="" PEER_PID=""
  "$start" "$PORT" || status=$?
  if [[ $status -eq 3 ]]; then
    echo "== $peer: no $TRANSPORT subscribers, skipped" >&2
    return 0
  elif [[ $status -ne 0 || -z "$PEER_PID" ]]; then
    echo "compare.sh: $peer did not start" >&2
    return 0
  fi
  wait_port "$PORT" || true
  local args=(bench --transport "$PEER_TRANSPORT" --url "$PEER_URL" --api-url "$PEER_API_URL"
    --channel-prefix "$PEER_PREFIX" --subscribers "$n" --rate "$rate" --duration "$DURATION"
    --warmup "$WARMUP"
    --workers "$WORKERS" --payload-bytes "$PAYLOAD" --codec "$CODEC" --publish-concurrency "$PUBCONC"
    --server-pid "${PEER_STATS_PID:-$PEER_PID}" --out "$out" --no-progress --scenario "$SCENARIO")
  [[ -n "$PEER_TOKEN" ]] && args+=(--token "$PEER_TOKEN")
  [[ -n "$PEER_API_KEY" ]] && args+=(--api-key "$PEER_API_KEY")
  echo "== $peer ($PEER_TRANSPORT), $n subscribers, rate $rate, run $run/$RUNS, client $CLIENT" >&2
  if [[ "$CLIENT" == c ]]; then
    local cargs=(--url "$PEER_URL" --api-url "$PEER_API_URL" --prefix "$PEER_PREFIX" --subscribers "$n"
      --rate "$rate" --duration "$DURATION" --warmup "$WARMUP" --payload "$PAYLOAD"
      --server-pid "${PEER_STATS_PID:-$PEER_PID}" --out "$out" --transport "$PEER_TRANSPORT")
    [[ "$PEER_TRANSPORT" == nchan-ws ]] && cargs+=(--proto nchan)
    [[ -n "$PEER_TOKEN" ]] && cargs+=(--token "$PEER_TOKEN")
    [[ -n "$PEER_API_KEY" ]] && cargs+=(--api-key "$PEER_API_KEY")
    taskset -c 1 "$OUT/fanlat" "${cargs[@]}" >&2 || echo "compare.sh: $peer n=$n rate=$rate run=$run failed" >&2
  else
    taskset -c 1 "${tidings[@]}" "${args[@]}" >&2 || echo "compare.sh: $peer n=$n rate=$rate run=$run failed" >&2
  fi
  kill "$PEER_PID" 2>/dev/null || true
  wait "$PEER_PID" 2>/dev/null || true
}

[[ "$SCENARIO" == idle ]] && RATES=0
# Runs are interleaved (every peer once, then again), so a noisy moment hits every peer alike.
for n in $NS; do
  for rate in $RATES; do
    for ((run = 1; run <= RUNS; run++)); do
      for peer in $PEERS; do run_one "$peer" "$n" "$rate" "$run"; done
    done
  done
done

if [[ "$SCENARIO" == idle ]]; then
  node bench/idle-table.mjs "$OUT" $PEERS | tee "$OUT/table.md"
else
  node bench/compare-table.mjs "$OUT" $PEERS | tee "$OUT/table.md"
fi
