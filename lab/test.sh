#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. format and lint (cargo fmt --check, clippy -D warnings);
#   2. unit, fixture, snapshot and fault tests (no lab needed; tmux drives the binary), then
#      each fuzz target for 20 s (lab/fuzz.sh);
#   3. live tests against the real Ray lab (lab/up.sh), TUI in tmux included;
#   4. live token-auth tests against a lab with token auth on (lab/up.sh --auth --minimal);
#   5. Kubernetes tests against a real kube-apiserver 1.20 with the lab's CRDs (lab/kube/).
# Installs what it needs (Ray in .lab/venv, tmux) and tears every lab down, pass or fail.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$LAB_SCRIPTS/setup.sh"

if ! cargo nextest --version >/dev/null 2>&1; then
  log "cargo-nextest not found; installing it"
  cargo install --locked cargo-nextest --quiet
fi
run_tests() { cargo nextest run --no-fail-fast --no-tests=fail "$@"; }
# A stage that runs fewer tests than it holds (a filter gone stale, a test renamed out of it)
# fails: run_stage EXPECTED ARGS... checks nextest's own count.
run_stage() {
  local expected=$1 out status ran
  shift
  out=$(mktemp)
  status=0
  run_tests "$@" 2>&1 | tee "$out" || status=$?
  ran=$(sed -n 's/.*Summary \[.*\] \([0-9]*\) tests\{0,1\} run.*/\1/p' "$out" | tail -1)
  rm -f "$out"
  if [[ "$status" != 0 ]]; then return "$status"; fi
  if [[ "$ran" != "$expected" ]]; then
    log "this stage ran ${ran:-no} tests, expected $expected (update the count in lab/test.sh when tests are added)"
    return 1
  fi
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
KUBECONFIG="$LAB/poison/kubeconfig" RAY_ADDRESS=http://127.0.0.1:9 RAY_AUTH_TOKEN=poison run_tests
# The fuzz targets ran for 1 s each above; here for a fixed, longer budget (lab/fuzz.sh 600 by hand).
"$LAB_SCRIPTS/fuzz.sh" 20
# The scale rig for a short, fixed budget with the debug build: the whole-process path works and
# never two requests to one endpoint are in flight (full size, release build: lab/figures.sh).
python3 "$LAB_SCRIPTS/rig/figures.py" --raytop "$ROOT/target/debug/raytop" --nodes 500 --actors 5000 \
  --replicas 100 --trials 1000 --seconds 10 --keys 8 --slow 1

trap '"$LAB_SCRIPTS/prom/down.sh"; "$LAB_SCRIPTS/down.sh"' EXIT
export RAYTOP_LAB_URL="$DASHBOARD_URL" RAYTOP_LAB_CONFIG="$LAB/cluster.yaml" RAYTOP_LAB_TOKEN_FILE="$TOKEN_FILE"

log "3/5 live tests against the lab"
if [[ -f "$STATE_FILE" ]]; then
  log "a lab is already up: stopping it, the live tests need a fresh one"
  "$LAB_SCRIPTS/down.sh"
fi
"$LAB_SCRIPTS/up.sh"
# A real Prometheus scraping the lab through Ray's service-discovery file (history tests).
"$LAB_SCRIPTS/prom/up.sh"
export RAYTOP_LAB_PROM_URL="http://127.0.0.1:${RAYTOP_LAB_PROM_PORT:-9391}"
run_stage 12 --run-ignored only -E 'binary(live) & !test(/^(redeploy|cancel|kill)_/)'
# The actions change the lab that the tests above read (the Serve config, a trial of the first
# sweep, a killed replica): after them, one at a time.
run_stage 4 --run-ignored only -E 'binary(live) & test(/^(redeploy|cancel|kill)_/)' --test-threads 1
"$LAB_SCRIPTS/prom/down.sh"
"$LAB_SCRIPTS/down.sh"

log "4/5 live token-auth tests"
"$LAB_SCRIPTS/up.sh" --auth --minimal
run_stage 4 --run-ignored only -E 'binary(live_auth) & !test(/^restart_/)'
# Restarts the lab with a new token: after the others.
run_stage 1 --run-ignored only -E 'binary(live_auth) & test(/^restart_/)'
"$LAB_SCRIPTS/down.sh"

log "5/5 Kubernetes tests against a real kube-apiserver (built once, then cached)"
"$LAB_SCRIPTS/kube/build.sh"
trap '"$LAB_SCRIPTS/kube/down.sh"; "$LAB_SCRIPTS/prom/down.sh"; "$LAB_SCRIPTS/down.sh"' EXIT
if [[ -f "$LAB/kube/run/lab.env" ]]; then "$LAB_SCRIPTS/kube/down.sh"; fi
"$LAB_SCRIPTS/kube/up.sh" --rbac
"$LAB_SCRIPTS/kube/apply.sh" -q "$LAB_SCRIPTS"/kube/manifests/*.yaml
"$LAB_SCRIPTS/kube/fake-nodes.sh" >/dev/null
"$LAB_SCRIPTS/kube/fake-pods.sh" raycluster-cpu >/dev/null
"$LAB_SCRIPTS/kube/set-status.sh" raycluster-cpu >/dev/null
"$LAB_SCRIPTS/kube/fake-pods.sh" --pending gpu-group raycluster-gpu >/dev/null
"$LAB_SCRIPTS/kube/set-status.sh" raycluster-gpu >/dev/null
"$LAB_SCRIPTS/kube/set-status.sh" --rayjob rayjob-sample >/dev/null
"$LAB_SCRIPTS/kube/set-status.sh" --rayservice rayservice-sample >/dev/null
"$LAB_SCRIPTS/kube/fake-events.sh" raycluster-gpu >/dev/null
# Both real systems at once: pods for the Ray lab's nodes, joined by pod name = instanceId; the
# lab's dashboard, with token auth, behind RayCluster ray-lab's head Service (via a netns).
"$LAB_SCRIPTS/up.sh" --auth --minimal
"$VENV/bin/python" "$LAB_SCRIPTS/kube/pods-for-ray-lab.py" "$DASHBOARD_URL"
# Its Prometheus too, behind monitoring/prometheus-k8s:web (history through the service proxy).
"$LAB_SCRIPTS/prom/up.sh"
python3 "$LAB_SCRIPTS/kube/dashboard-netns.py" up "$PORT" "$TOKEN_FILE" --prom "${RAYTOP_LAB_PROM_PORT:-9391}"
run_stage 21 --run-ignored only -E 'binary(kube) & !test(/^fault_/)' --test-threads 1
# Faults that change the whole API server (a restart, a revoked role, a deleted CRD): last.
run_stage 3 --run-ignored only -E 'binary(kube) & test(/^fault_/)' --test-threads 1
"$LAB_SCRIPTS/kube/down.sh"
"$LAB_SCRIPTS/prom/down.sh"
"$LAB_SCRIPTS/down.sh"
trap - EXIT
log "all tests passed"
