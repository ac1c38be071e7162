#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. format and lint (cargo fmt --check, clippy -D warnings);
#   2. unit, fixture, snapshot and fault tests (no lab needed; tmux drives the binary);
#   3. live tests against the real Ray lab (lab/up.sh), TUI in tmux included;
#   4. live token-auth tests against a lab with token auth on (lab/up.sh --auth --minimal).
# Installs what it needs (Ray in .lab/venv, tmux) and tears every lab down, pass or fail.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$LAB_SCRIPTS/setup.sh"

if cargo nextest --version >/dev/null 2>&1; then
  run_tests() { cargo nextest run --no-fail-fast "$@"; }
else
  log "cargo-nextest not found; installing it"
  cargo install --locked cargo-nextest --quiet
  run_tests() { cargo nextest run --no-fail-fast "$@"; }
fi

log "1/4 format and lint"
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings

log "2/4 unit, fixture, snapshot and fault tests"
# Snapshots must match what is committed; never write new ones in a test run.
export INSTA_UPDATE=no
run_tests

trap '"$LAB_SCRIPTS/down.sh"' EXIT
export RAYTOP_LAB_URL="$DASHBOARD_URL" RAYTOP_LAB_CONFIG="$LAB/cluster.yaml" RAYTOP_LAB_TOKEN_FILE="$TOKEN_FILE"

log "3/4 live tests against the lab"
if [[ -f "$STATE_FILE" ]]; then
  log "a lab is already up: stopping it, the live tests need a fresh one"
  "$LAB_SCRIPTS/down.sh"
fi
"$LAB_SCRIPTS/up.sh"
run_tests --run-ignored only -E 'binary(live)'
"$LAB_SCRIPTS/down.sh"

log "4/4 live token-auth tests"
"$LAB_SCRIPTS/up.sh" --auth --minimal
run_tests --run-ignored only -E 'binary(live_auth)'
"$LAB_SCRIPTS/down.sh"
trap - EXIT
log "all tests passed"
