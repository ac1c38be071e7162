#!/usr/bin/env bash
# Stops the lab's Prometheus (only the process lab/prom/up.sh started).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
PID_FILE="$LAB/prom/prometheus.pid"
pid=$(cat "$PID_FILE" 2>/dev/null || true)
if [[ -n "$pid" ]] && [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$LAB/prom/pkg/usr/bin/prometheus" ]]; then
  kill -TERM "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
rm -f "$PID_FILE" "$LAB/prom/prom.env"
log "prometheus down"
