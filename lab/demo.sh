#!/usr/bin/env bash
# One command from a fresh machine to raytop on a real Ray cluster: installs Ray 2.60 in .lab/venv,
# starts the lab (autoscaling cluster, Tune ASHA sweep, Serve app), builds raytop and opens it.
# When raytop exits, the lab is torn down (pass --keep to leave it running; lab/down.sh stops it).
#
# Usage: lab/demo.sh [--keep] [--v2] [-- RAYTOP ARGS...]
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

KEEP=0 UP_ARGS=() RAYTOP_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --v2) UP_ARGS+=(--v2) ;;
    --) shift; RAYTOP_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

"$LAB_SCRIPTS/setup.sh"
# Build while nothing else competes for the two cores. The dev profile (dependencies at
# opt-level 1, see Cargo.toml), the build the lab's tests use too: a first look in about two
# minutes from cold, where the tuned release profile (fat LTO, one codegen unit, for
# `cargo install`) takes about eight.
log "building raytop (dev profile)"
(cd "$ROOT" && cargo build --quiet)

if [[ -f "$STATE_FILE" ]]; then
  log "a lab cluster is already up; using it"
else
  [[ $KEEP == 1 ]] || trap '"$LAB_SCRIPTS/down.sh"' EXIT
  "$LAB_SCRIPTS/up.sh" "${UP_ARGS[@]}"
fi

"$TARGET_DIR/debug/raytop" --dashboard "$DASHBOARD_URL" --cluster-config "$LAB/cluster.yaml" \
  --tune-dir "$TUNE_STORAGE" "${RAYTOP_ARGS[@]}"
