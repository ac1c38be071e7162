#!/usr/bin/env bash
# Capture Prometheus's own answers to the queries raytop sends, as test fixtures, together with
# the dashboard's answers of the same moment (so node metrics ports match the `instance` labels).
#   lab/prom/capture.sh PROM_OUTDIR [DASH_OUTDIR]
# Asks `raytop snapshot --json --prometheus` which queries, windows and steps it uses, then fetches
# each with curl: PROM_OUTDIR/<name>.json is Prometheus's body as served, window.json the range.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
OUT=${1:?usage: lab/prom/capture.sh PROM_OUTDIR [DASH_OUTDIR]}
PROM_URL=${RAYTOP_LAB_PROM_URL:-http://127.0.0.1:${RAYTOP_LAB_PROM_PORT:-9391}}
mkdir -p "$OUT"
cargo build --quiet
snap=$(mktemp)
"$TARGET_DIR/debug/raytop" snapshot --json --dashboard "$DASHBOARD_URL" --prometheus "$PROM_URL" >"$snap"
if [[ -n "${2:-}" ]]; then "$LAB_SCRIPTS/capture.sh" "$2"; fi
python3 - "$snap" "$OUT" "$PROM_URL" <<'PY'
import json, subprocess, sys, urllib.parse
snap, out, prom = sys.argv[1:]
results = json.load(open(snap))["history"]["results"]
window = None
for name, r in sorted(results.items()):
    q = urllib.parse.urlencode({"query": r["query"], "start": r["start"], "end": r["end"], "step": r["step"]})
    body = subprocess.run(["curl", "-sf", f"{prom}/api/v1/query_range?{q}"], check=True, capture_output=True).stdout
    open(f"{out}/{name}.json", "wb").write(body)
    window = window or {"start": r["start"], "end": r["end"], "step": r["step"]}
json.dump(window, open(f"{out}/window.json", "w"))
print(f"[lab] captured {len(results)} answers into {out}", file=sys.stderr)
PY
rm -f "$snap"
