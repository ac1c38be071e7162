#!/usr/bin/env bash
# Whole-process figures for the closing notes, measured side by side in one run on the running lab:
# raytop (this project, release build, --refresh 1) and the `raytop` 0.1 crate from the Rust
# package registry (another project with the same name, installed into .lab/peer).
# Per tool: time from launch to the first frame showing a node; CPU (% of one core) and RSS over
# 60 s while nobody types; requests and bytes per minute it pulls from the dashboard, counted by a
# proxy in front of the dashboard. Then raytop in each of its other views (VIEW_SECONDS each; the
# peer has one screen, fed by one loop whatever it shows), and at last the same figures at scale
# against the rig (lab/rig/figures.py: 2,000 nodes, 20,000 actors, 500 replicas, 5,000 trials).
#
# Usage: lab/up.sh && lab/figures.sh [SECONDS]      (default 60; VIEW_SECONDS default 30;
#        NO_RIG=1 skips the scale part)
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
  if [[ $name == raytop ]]; then
    # Each other view, as a user leaves it open: bytes per minute while it is on screen.
    : > "$OUT/raytop.views.txt"
    local key v0 v1 vb0 vb1 vt0 vt1
    for key in 2 3 4 5 6; do
      tmux send-keys -t "$session" "$key"
      sleep 5
      v0=$(stat_of "$stats" requests); vb0=$(stat_of "$stats" bytes_down); vt0=$(date +%s.%N)
      sleep "${VIEW_SECONDS:-30}"; sleep 1.1
      v1=$(stat_of "$stats" requests); vb1=$(stat_of "$stats" bytes_down); vt1=$(date +%s.%N)
      echo "$key $(awk -v r0="$v0" -v r1="$v1" -v b0="$vb0" -v b1="$vb1" -v t0="$vt0" -v t1="$vt1" \
        'BEGIN { m = (t1 - t0) / 60; printf "%.1f requests/min %.1f KB/min", (r1 - r0) / m, (b1 - b0) / 1024 / m }')" >> "$OUT/raytop.views.txt"
    done
  fi
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

measure raytop "$TARGET_DIR/release/raytop --dashboard @URL@ --refresh 1 --cluster-config $LAB/cluster.yaml --tune-dir $TUNE_STORAGE"
measure peer "$PEER --master @URL@"
"$VENV/bin/python" - "$OUT/raytop.json" "$OUT/peer.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
print(f"{'figure':<20}{'raytop':>12}{'peer 0.1':>12}{'ratio':>10}")
for k in ("first_frame_ms", "cpu_pct_of_core", "rss_mb", "requests_per_min", "kb_per_min"):
    ratio = a[k] / b[k] if b[k] else float("nan")
    print(f"{k:<20}{a[k]:>12}{b[k]:>12}{ratio:>10.2f}")
PY
peer_kb=$(stat_of "$OUT/peer.json" kb_per_min)
echo
echo "raytop in its other views (the peer's screen costs the same whatever it shows: $peer_kb KB/min)"
names=([2]=Autoscaler [3]=Serve [4]=Tune [5]=GPU [6]=Jobs)
while read -r key rpm _ kbpm _; do
  printf '%-12s%8s requests/min%10s KB/min   ratio %s\n' "${names[$key]}" "$rpm" "$kbpm" \
    "$(awk -v a="$kbpm" -v b="$peer_kb" 'BEGIN { printf "%.2f", a / b }')"
done < "$OUT/raytop.views.txt"

if [[ -z ${NO_RIG:-} ]]; then
  echo
  python3 "$LAB_SCRIPTS/rig/figures.py" --raytop "$TARGET_DIR/release/raytop" --peer "$PEER" --out "$OUT/rig"
fi
