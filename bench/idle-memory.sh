#!/usr/bin/env bash
# Idle memory at 10,000 WebSocket connections, Tidings and its peers (issue 5): each server is
# started fresh pinned to core 0 by bench/compare.sh's peer_<name>_start functions, and
# `tidings bench --scenario idle` (core 1, 2 worker processes, one 127.0.0.x address each)
# connects NS sockets, holds them DURATION s without publishing, and reads the server's RSS
# before connecting, once all subscribed, and at the end. Prints RSS per connection in KiB.
#
# Usage (after `npm run build`):
#   bench/idle-memory.sh                       # compare.sh's peers, 10,000 connections, 30 s, 3 runs
#   PEERS="tidings raw-ws" RUNS=1 bench/idle-memory.sh
# Any other compare.sh knob (PEERS, RUNS, TRANSPORT, WORKERS, PORT, OUT, CODEC) passes through.
# A run takes about 45 s per peer (connecting, the hold, closing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SCENARIO=idle
export NS="${NS:-10000}"
export DURATION="${DURATION:-30}"
exec "$root/bench/compare.sh"
