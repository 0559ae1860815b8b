#!/usr/bin/env bash
# One-time machine setup for the tests (`sudo npm run setup`; .ci/run calls it too, so there is
# one place that knows what the tests need). On a Debian machine, as root, it installs every
# Debian package the tests call (running `apt-get update -qq` once, and only when something is
# missing) and starts each service the tests use that is not already listening on its port.
# Idempotent: on a machine that has everything it changes nothing.
set -euo pipefail

log() { printf '\n== %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local tries=${2:-50}
  for _ in $(seq 1 "$tries"); do port_open "$1" && return 0; sleep 0.2; done
  echo "service on port $1 did not come up" >&2
  return 1
}

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

log "system tools"
need=()
# curl: SSE, NDJSON and HTTP/2 tests read streams with it (test/integration/sse.test.ts, ...)
have curl || need+=(curl)
# openssl: the HTTP/2 and TLS tests make a throwaway certificate
have openssl || need+=(openssl)
# ss: the CLI test checks the listening socket (test/integration/cli.test.ts)
have ss || need+=(iproute2)
# the browser tests drive Debian's Chromium (dashboard-browser, proxy-browser, sdk-order-browser)
[ -x /usr/bin/chromium ] || need+=(chromium)
# real proxies in front of two nodes with deploy/nginx.conf and deploy/haproxy.cfg
# (test/integration/proxies.test.ts runs its own instances; the system services stay off)
have nginx || need+=(nginx)
have haproxy || need+=(haproxy)
# the Nchan peer of bench/compare.sh (test/integration/bench-peers.test.ts runs it)
[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || need+=(libnginx-mod-nchan)
# promtool checks deploy/grafana/tidings-alerts.yml (test/integration/grafana-deploy.test.ts)
have promtool || need+=(prometheus)
# MQTT tests publish and subscribe with the Mosquitto command-line clients
have mosquitto_pub && have mosquitto_sub || need+=(mosquitto-clients)
# services: the tests talk to the shared ones and start private nats-server/redis-server copies
have redis-server && have redis-cli || need+=(redis-server redis-tools)
have nats-server || need+=(nats-server)
have mosquitto || need+=(mosquitto)
[ -d /etc/postgresql ] && have pg_ctlcluster || need+=(postgresql)
have rabbitmq-server || need+=(rabbitmq-server)
[ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]}" >&2
    echo "run this as root: sudo npm run setup   (or: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
echo "ok"

log "services"
if ! port_open 6379; then
  echo "starting redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379
fi
if ! port_open 4222; then
  echo "starting nats-server"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 4222
fi
if ! port_open 1883; then
  echo "starting mosquitto"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
  wait_port 1883
fi
if ! port_open 5432; then
  echo "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  wait_port 5432
fi
if ! port_open 5672; then
  echo "starting rabbitmq"
  rabbitmq-server -detached
  # the Erlang VM takes a while to boot on a loaded machine: up to 120 s
  wait_port 5672 600
fi
if ! port_open 3306; then
  echo "starting mariadb"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_port 3306 300
fi
echo "redis, nats, mosquitto, postgresql, rabbitmq and mariadb are up"
