#!/usr/bin/env bash
# A real Prometheus (Debian's 2.42 package, unpacked, not installed: no service, no root needed
# to run it) scraping the Ray lab through Ray's own service-discovery file, as a Prometheus on a
# VM would. Start the Ray lab first (lab/up.sh).
#   lab/prom/up.sh      # prints PROM_URL; state in .lab/prom/
# Environment: RAYTOP_LAB_PROM_PORT (9391), RAY_TMP (the Ray temp dir, /tmp/ray).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
PROM_DIR="$LAB/prom"
PKG="$PROM_DIR/pkg"
BIN="$PKG/usr/bin/prometheus"
PORT=${RAYTOP_LAB_PROM_PORT:-9391}
SD="${RAY_TMP:-/tmp/ray}/prom_metrics_service_discovery.json"
mkdir -p "$PROM_DIR"
"$(dirname "$0")/fetch.sh"
"$(dirname "$0")/down.sh" >/dev/null 2>&1 || true
[[ -f "$SD" ]] || die "no $SD: is the Ray lab up (lab/up.sh)?"
cat >"$PROM_DIR/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
scrape_configs:
  - job_name: ray
    file_sd_configs: [{files: ["$SD"], refresh_interval: 5s}]
YAML
rm -rf "$PROM_DIR/data"
setsid "$BIN" --config.file="$PROM_DIR/prometheus.yml" --web.listen-address="127.0.0.1:$PORT" \
  --storage.tsdb.path="$PROM_DIR/data" --log.level=warn >"$PROM_DIR/prometheus.log" 2>&1 </dev/null &
echo $! >"$PROM_DIR/prometheus.pid"
URL="http://127.0.0.1:$PORT"
wait_for 60 "Prometheus ready" curl -sf "$URL/-/ready"
wait_for 60 "every Ray target up" sh -c \
  "curl -sf '$URL/api/v1/targets' | python3 -c 'import json,sys; t=json.load(sys.stdin)[\"data\"][\"activeTargets\"]; sys.exit(0 if t and all(x[\"health\"]==\"up\" for x in t) else 1)'"
echo "PROM_URL=$URL" >"$PROM_DIR/prom.env"
log "prometheus up: $URL (scraping $SD every 5s)"
