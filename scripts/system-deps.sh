#!/usr/bin/env bash
# Installs the system packages the tests and benchmarks need (Debian/Ubuntu): the MQTT broker and clients,
# InfluxDB 1.x (v1 write/query API), VictoriaMetrics (speaks InfluxDB's /api/v2/write), mbpoll (a Modbus
# client used to cross-check register maps), Chromium (the Andon page's browser test), systemd-analyze (checks
# deploy/kanban-edge.service), NATS (the central cluster of the scale-out test: JetStream and an MQTT listener)
# and openssl (its certificates). As root it runs apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail
missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
have mosquitto || missing+=(mosquitto)
have mosquitto_pub || missing+=(mosquitto-clients)
have influxd || missing+=(influxdb)
have victoria-metrics || missing+=(victoria-metrics)
have mbpoll || missing+=(mbpoll)
have chromium || missing+=(chromium)  # the Andon page's browser test
have systemd-analyze || missing+=(systemd)
have nats-server || missing+=(nats-server)
have openssl || missing+=(openssl)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${missing[*]}" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]}"
apt-get update -qq
# The packages' own services are not wanted: the tests start their own servers on free ports.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.kanban-edge
chmod +x /usr/sbin/policy-rc.d.kanban-edge
[ -e /usr/sbin/policy-rc.d ] || ln -s /usr/sbin/policy-rc.d.kanban-edge /usr/sbin/policy-rc.d
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$(readlink /usr/sbin/policy-rc.d 2>/dev/null)" != /usr/sbin/policy-rc.d.kanban-edge ] || rm -f /usr/sbin/policy-rc.d
rm -f /usr/sbin/policy-rc.d.kanban-edge
