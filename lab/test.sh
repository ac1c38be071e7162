#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. format and lint (cargo fmt --check, clippy -D warnings);
#   2. unit, fixture, snapshot and fault tests (no lab needed; tmux drives the binary), then
#      each fuzz target for 20 s (lab/fuzz.sh);
#   3. live tests against the real Ray lab (lab/up.sh), TUI in tmux included;
#   4. live token-auth tests against a lab with token auth on (lab/up.sh --auth --minimal);
#   5. Kubernetes tests against the real KubeRay operator on a real one-node Kubernetes 1.34
#      (lab/kuberay/: kubelet, containerd, scheduler, CoreDNS; Ray pods from the lab's image):
#      tests/kube.rs (reads, scaling, token auth, RayService, faults) and tests/kuberay.rs.
# Installs what it needs (Ray in .lab/venv, tmux) and tears every lab down, pass or fail.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# A clean checkout (CI) would otherwise compile every dependency again, most of a CI run on two
# cores: cargo's target lives in the cache, shared by checkouts, unless the caller chose one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE_ROOT/cargo-target}"
TARGET_DIR="$CARGO_TARGET_DIR"

"$LAB_SCRIPTS/setup.sh" --for-tests

run_tests() { cargo nextest run --no-fail-fast --no-tests=fail "$@"; }
# How many tests nextest lists for ARGS, a run's arguments: those that only say how to run
# (--test-threads N) are not list's, and are left out.
count_tests() {
  local select=()
  while (($#)); do
    case "$1" in
      --test-threads) shift 2 ;;
      --test-threads=*) shift ;;
      *) select+=("$1"); shift ;;
    esac
  done
  cargo nextest list --message-format oneline "${select[@]}" 2>/dev/null | grep -c . || true
}
# Every stage runs exactly the tests it selects, counted by nextest's own list of the same
# selection, never a constant: run_stage ARGS... fails when the run's count differs (a test that
# did not run, a filter that matched nothing).
STAGE_COUNTS=()
run_stage() {
  local expected out status ran
  expected=$(count_tests "$@")
  out=$(mktemp)
  status=0
  run_tests "$@" 2>&1 | tee "$out" || status=$?
  ran=$(sed -n 's/.*Summary \[.*\] \([0-9]*\) tests\{0,1\} run.*/\1/p' "$out" | tail -1)
  rm -f "$out"
  if [[ "$status" != 0 ]]; then return "$status"; fi
  if [[ "$ran" != "$expected" ]]; then
    log "this stage ran ${ran:-no} tests where nextest lists $expected for it"
    return 1
  fi
  STAGE_COUNTS+=("$expected")
  log "stage ran $ran of the $expected tests it selects"
}

# The lab stages, by filter over the ignored tests (each needs a lab that stage 2 does not start).
# Serial: tests that change the lab (redeploy, cancel, kill) or load it (a sweep of their own
# in cloud storage: `s3_`, `gs_`, `az_`).
LIVE_READS='binary(live) & !test(/^(redeploy|cancel|kill|s3|gs|az)_/)'
LIVE_ACTIONS='binary(live) & test(/^(redeploy|cancel|kill|s3|gs|az)_/)'
AUTH='binary(live_auth) & !test(/^restart_/)'
AUTH_RESTART='binary(live_auth) & test(/^restart_/)'
KUBE='binary(kube) & !test(/^fault_/)'
KUBE_FAULTS='binary(kube) & test(/^fault_/)'
KUBERAY='binary(kuberay)'
LAB_STAGES=("$LIVE_READS" "$LIVE_ACTIONS" "$AUTH" "$AUTH_RESTART" "$KUBE" "$KUBE_FAULTS" "$KUBERAY")
# Every ignored test belongs to exactly one lab stage: one in none would never run anywhere.
check_stages_cover_ignored() {
  local union="" f stray total sum=0
  for f in "${LAB_STAGES[@]}"; do
    union+="${union:+ | }($f)"
    sum=$(( sum + $(count_tests --run-ignored only -E "$f") ))
  done
  stray=$(cargo nextest list --message-format oneline --run-ignored only -E "not ($union)" 2>/dev/null || true)
  total=$(count_tests --run-ignored only)
  if [[ -n "$stray" ]]; then
    log "ignored tests that no stage of lab/test.sh runs:"; sed 's/^/  /' <<<"$stray" >&2
    return 1
  fi
  if [[ "$sum" != "$total" ]]; then
    log "the lab stages select $sum tests in all, but $total are ignored: a test is in two stages"
    return 1
  fi
  log "$total ignored tests, each in exactly one lab stage (0 in none)"
}

log "1/5 format and lint"
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings

log "2/5 unit, fixture, snapshot and fault tests"
# Snapshots must match what is committed; never write new ones in a test run.
export INSTA_UPDATE=no
# Hermetic: a kubeconfig, Ray address and token that lead nowhere; a test that inherits any of
# them instead of setting its own fails.
mkdir -p "$LAB/poison"
cat >"$LAB/poison/kubeconfig" <<'EOF'
apiVersion: v1
kind: Config
clusters: [{name: poison, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: poison, user: {token: poison}}]
contexts: [{name: poison, context: {cluster: poison, user: poison}}]
current-context: poison
EOF
KUBECONFIG="$LAB/poison/kubeconfig" RAY_ADDRESS=http://127.0.0.1:9 RAY_AUTH_TOKEN=poison run_stage
check_stages_cover_ignored
# The fuzz targets ran for 1 s each above; here for a fixed, longer budget (lab/fuzz.sh 600 by hand).
"$LAB_SCRIPTS/fuzz.sh" 20
# The scale rig for a short, fixed budget with the debug build: the whole-process path works and
# never two requests to one endpoint are in flight (full size, release build: lab/figures.sh).
python3 "$LAB_SCRIPTS/rig/figures.py" --raytop "$TARGET_DIR/debug/raytop" --nodes 500 --actors 5000 \
  --replicas 100 --trials 1000 --seconds 10 --keys 8 --slow 1

trap '"$LAB_SCRIPTS/prom/down.sh"; "$LAB_SCRIPTS/down.sh"' EXIT
export RAYTOP_LAB_URL="$DASHBOARD_URL" RAYTOP_LAB_CONFIG="$LAB/cluster.yaml" RAYTOP_LAB_TOKEN_FILE="$TOKEN_FILE"

log "3/5 live tests against the lab"
# The GCS and Azure emulators the gs:// and az:// sweeps write to (built once, cached).
eval "$("$LAB_SCRIPTS/cloud.sh")"
export RAYTOP_LAB_FAKE_GCS_BIN="$FAKE_GCS_BIN" RAYTOP_LAB_AZURITE_BIN="$AZURITE_BIN"
if [[ -f "$STATE_FILE" ]]; then
  log "a lab is already up: stopping it, the live tests need a fresh one"
  "$LAB_SCRIPTS/down.sh"
fi
"$LAB_SCRIPTS/up.sh"
# A real Prometheus scraping the lab through Ray's service-discovery file (history tests).
"$LAB_SCRIPTS/prom/up.sh"
export RAYTOP_LAB_PROM_URL="http://127.0.0.1:${RAYTOP_LAB_PROM_PORT:-9391}"
run_stage --run-ignored only -E "$LIVE_READS"
# The actions change the lab that the tests above read (the Serve config, a trial of the first
# sweep, a killed replica): after them, one at a time.
run_stage --run-ignored only -E "$LIVE_ACTIONS" --test-threads 1
"$LAB_SCRIPTS/prom/down.sh"
"$LAB_SCRIPTS/down.sh"

log "4/5 live token-auth tests"
"$LAB_SCRIPTS/up.sh" --auth --minimal
run_stage --run-ignored only -E "$AUTH"
# Restarts the lab with a new token: after the others.
run_stage --run-ignored only -E "$AUTH_RESTART"
"$LAB_SCRIPTS/down.sh"

log "5/5 Kubernetes tests: the real KubeRay operator on a real one-node Kubernetes (built once, then cached)"
# The Ray lab is down (above): never two Ray clusters on one machine.
trap '"$LAB_SCRIPTS/kuberay/down.sh"' EXIT
"$LAB_SCRIPTS/kuberay/down.sh"
"$LAB_SCRIPTS/kuberay/up.sh"
"$LAB_SCRIPTS/kuberay/seed.sh"
run_stage --run-ignored only -E "$KUBE" --test-threads 1
run_stage --run-ignored only -E "$KUBERAY" --test-threads 1
# Faults that change the whole API server (a restart, a revoked role, a deleted CRD, after which
# the lab's clusters start over): last.
run_stage --run-ignored only -E "$KUBE_FAULTS" --test-threads 1
"$LAB_SCRIPTS/kuberay/down.sh"
trap - EXIT
log "all tests passed; tests run per stage (offline, live reads, live actions, auth, auth restart, kube, kuberay, kube faults): ${STAGE_COUNTS[*]}"
