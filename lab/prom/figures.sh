#!/usr/bin/env bash
# What raytop asks of Prometheus while idle, per view: queries and bytes per minute, counted by a
# proxy in front of the lab's Prometheus (lab/prom/up.sh), raytop in tmux on the lab's dashboard.
#   lab/prom/figures.sh [SECONDS_PER_VIEW]   (default 60)
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
SECS=${1:-60}
PROM_PORT=${RAYTOP_LAB_PROM_PORT:-9391}
cargo build --quiet
BIN="$TARGET_DIR/debug/raytop" # counts, not speed: the debug build asks the same
work=$(mktemp -d)
trap 'tmux kill-session -t raytop-promfig 2>/dev/null || true; kill "$proxy" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/python" "$LAB_SCRIPTS/countproxy.py" "$port" "$PROM_PORT" "$work/stats.json" &
proxy=$!
sleep 1
token=()
if [[ -f "$TOKEN_FILE" ]]; then token=(--token-file "$TOKEN_FILE"); fi
printf '%-12s %10s %10s\n' view "q/min" "KB/min"
for view in 1:Cluster 2:Autoscaler 3:Serve 4:Tune 5:GPU 6:Jobs; do
  key=${view%%:*} name=${view#*:}
  tmux new-session -d -x 160 -y 45 -s raytop-promfig \
    "env HOME=$work KUBECONFIG=/dev/null $BIN --no-kube --dashboard $DASHBOARD_URL ${token[*]} --prometheus http://127.0.0.1:$port"
  sleep 3
  tmux send-keys -t raytop-promfig "$key"
  sleep 5 # the switch's first round is not idle load
  before=$(python3 -c "import json; d=json.load(open('$work/stats.json')); print(d['requests'], d['bytes_up']+d['bytes_down'])")
  sleep "$SECS"
  after=$(python3 -c "import json; d=json.load(open('$work/stats.json')); print(d['requests'], d['bytes_up']+d['bytes_down'])")
  tmux kill-session -t raytop-promfig
  python3 - "$name" "$SECS" $before $after <<'PY'
import sys
name, secs, r0, b0, r1, b1 = sys.argv[1], float(sys.argv[2]), *map(int, sys.argv[3:])
print(f"{name:<12} {(r1 - r0) * 60 / secs:>10.1f} {(b1 - b0) * 60 / secs / 1024:>10.1f}")
PY
done
