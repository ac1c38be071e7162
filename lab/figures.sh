#!/usr/bin/env bash
# Whole-process figures for the closing notes, measured side by side in one run on the running lab:
# raytop (this project, release build, --refresh 1) and the `raytop` 0.1 crate from the Rust
# package registry (another project with the same name, installed into .lab/peer).
# Per tool: time from launch to the first frame showing a node; CPU (% of one core) and RSS over
# 60 s while nobody types; requests and bytes per minute it pulls from the dashboard, counted by a
# proxy in front of the dashboard.
#
# Usage: lab/up.sh && lab/figures.sh [SECONDS]      (default 60)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
WINDOW=${1:-60}
[[ -f "$STATE_FILE" ]] || die "no lab cluster is up (run lab/up.sh)"
command -v tmux >/dev/null || die "tmux missing (run lab/setup.sh)"

(cd "$ROOT" && cargo build --release --quiet)
PEER="$LAB/peer/bin/raytop"
if [[ ! -x "$PEER" ]]; then
  log "installing the raytop 0.1 crate (the peer) into .lab/peer"
  cargo install raytop --version '^0.1' --root "$LAB/peer" --quiet
fi
OUT="$LAB/figures"
mkdir -p "$OUT"
# The nodes' IP: both tools show it once they have drawn the node list.
NODE_IP=$("$VENV/bin/python" -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]+"/api/v0/nodes"))["data"]["result"]["result"][0]["node_ip"])' "$DASHBOARD_URL")

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
stat_of() { "$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

measure() {  # NAME COMMAND...   (COMMAND gets the proxy URL appended by the caller's placeholder)
  local name=$1; shift
  local port; port=$(free_port)
  local stats="$OUT/$name.proxy.json"
  rm -f "$stats"
  "$VENV/bin/python" "$LAB_SCRIPTS/countproxy.py" "$port" "$PORT" "$stats" &
  local proxy=$!
  wait_for 10 "counting proxy" test -s "$stats"
  local cmd=${*//@URL@/http://127.0.0.1:$port}
  local session="raytop-figures-$name"
  tmux kill-session -t "$session" 2>/dev/null || true
  local t0; t0=$(date +%s.%N)
  tmux new-session -d -x 120 -y 40 -s "$session" "exec $cmd"
  local first=""
  for _ in $(seq 1 600); do
    if tmux capture-pane -p -t "$session" | grep -q "$NODE_IP"; then first=$(date +%s.%N); break; fi
    sleep 0.05
  done
  [[ -n "$first" ]] || { tmux capture-pane -p -t "$session"; die "$name never showed a node"; }
  local pid; pid=$(tmux display-message -p -t "$session" '#{pane_pid}')
  sleep 5  # let start-up settle before the idle window
  local c0 r0 b0 t1
  c0=$(cpu_ticks "$pid"); r0=$(stat_of "$stats" requests); b0=$(stat_of "$stats" bytes_down); t1=$(date +%s.%N)
  local rss_max=0 rss
  for _ in $(seq 1 "$WINDOW"); do
    sleep 1
    rss=$(rss_kb "$pid"); (( rss > rss_max )) && rss_max=$rss
  done
  sleep 1.1  # the proxy rewrites its stats every second
  local c1 r1 b1 t2
  c1=$(cpu_ticks "$pid"); r1=$(stat_of "$stats" requests); b1=$(stat_of "$stats" bytes_down); t2=$(date +%s.%N)
  tmux capture-pane -p -t "$session" > "$OUT/$name.screen.txt"
  tmux kill-session -t "$session"
  kill "$proxy"
  "$VENV/bin/python" - "$name" "$t0" "$first" "$t1" "$t2" "$c0" "$c1" "$r0" "$r1" "$b0" "$b1" "$rss_max" "$(getconf CLK_TCK)" <<'PY' | tee "$OUT/$name.json"
import json, sys
n, t0, first, t1, t2, c0, c1, r0, r1, b0, b1, rss, hz = sys.argv[1:]
t0, first, t1, t2 = map(float, (t0, first, t1, t2))
minutes = (t2 - t1) / 60
print(json.dumps({
    "tool": n,
    "first_frame_ms": round((first - t0) * 1000),
    "cpu_pct_of_core": round((int(c1) - int(c0)) / int(hz) / (t2 - t1) * 100, 2),
    "rss_mb": round(int(rss) / 1024, 1),
    "requests_per_min": round((int(r1) - int(r0)) / minutes, 1),
    "kb_per_min": round((int(b1) - int(b0)) / 1024 / minutes, 1),
}))
PY
}

measure raytop "$ROOT/target/release/raytop --dashboard @URL@ --refresh 1 --cluster-config $LAB/cluster.yaml"
measure peer "$PEER --master @URL@"
"$VENV/bin/python" - "$OUT/raytop.json" "$OUT/peer.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
print(f"{'figure':<20}{'raytop':>12}{'peer 0.1':>12}{'ratio':>10}")
for k in ("first_frame_ms", "cpu_pct_of_core", "rss_mb", "requests_per_min", "kb_per_min"):
    ratio = a[k] / b[k] if b[k] else float("nan")
    print(f"{k:<20}{a[k]:>12}{b[k]:>12}{ratio:>10.2f}")
PY
