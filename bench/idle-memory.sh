#!/usr/bin/env bash
# Idle memory at 10,000 WebSocket connections, Tidings and its peers (issue 5): each server is
# started fresh pinned to core 0 by bench/compare.sh's peer_<name>_start functions, and
# `tidings bench --scenario idle` (core 1, 2 worker processes, one 127.0.0.x address each)
# connects NS sockets, holds them DURATION s without publishing, and reads the server's RSS
# before connecting, once all subscribed, and at the end. Prints RSS per connection in KiB.
#
# Usage (after `npm run build`):
#   bench/idle-memory.sh                       # tidings and raw-ws, 10,000 connections, 30 s
#   PEERS="tidings raw-ws" NS=10000 DURATION=30 bench/idle-memory.sh
# Any other compare.sh knob (WORKERS, PORT, OUT, CODEC) passes through.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SCENARIO=idle
export NS="${NS:-10000}"
export DURATION="${DURATION:-30}"
export PEERS="${PEERS:-tidings raw-ws}"
exec "$root/bench/compare.sh"
