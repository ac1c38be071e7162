#!/usr/bin/env bash
# Start the raytop lab: a local "fake multinode" Ray 2.60 cluster driven by
# the real autoscaler (head + cpu-group + gpu-group with logical GPUs), a
# never-ending Tune ASHA sweep and a Serve app `demo` with 3 replicas.
#
# Usage: lab/up.sh [--v2] [--auth] [--minimal]
#   --v2       autoscaler v2 (what KubeRay uses); /api/cluster_status data is null
#   --auth     token auth on; token in .lab/auth_token (or $RAYTOP_LAB_TOKEN_FILE)
#   --minimal  head + autoscaler only: no Tune, no Serve, no waiting for scale-up
# Env: RAYTOP_LAB_PORT (dashboard, 8265), RAYTOP_LAB_SERVE_PORT (8000),
#      LAB_EPOCH_SECONDS (3), LAB_ALLOW_HOME_TOKEN=1 (accept a foreign ~/.ray/auth_token)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

V2=0 AUTH=0 MINIMAL=0
for arg in "$@"; do
  case "$arg" in
    --v2) V2=1 ;;
    --auth) AUTH=1 ;;
    --minimal) MINIMAL=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done

require_venv
t0=$SECONDS

# --- One cluster at a time ------------------------------------------------
# The fake provider hard-codes GCS port 6379, so a second cluster on this
# machine (lab or not) would collide; refuse instead of leaving two up.
if [[ -f "$STATE_FILE" ]]; then
  die "a lab cluster is already up ($(tr '\n' ' ' <"$STATE_FILE")); run lab/down.sh first"
fi
if pgrep -x gcs_server >/dev/null || pgrep -f 'ray/core/src/ray/gcs/gcs_server' >/dev/null; then
  die "a Ray cluster is already running on this machine (gcs_server found); run lab/down.sh or ray stop"
fi
if dashboard_answers; then
  die "something already answers on $DASHBOARD_URL; set RAYTOP_LAB_PORT or stop it"
fi

# --- Token hygiene -------------------------------------------------------
# A token in ~/.ray makes later clusters demand tokens. The lab never needs
# it there (it passes RAY_AUTH_TOKEN_PATH), so a leftover is either ours
# (clean it) or the user's (refuse rather than delete someone's token).
if [[ -f "$HOME_TOKEN" ]]; then
  if [[ -f "$HOME_TOKEN_MARK" ]]; then
    log "removing $HOME_TOKEN left by an earlier lab run"
    rm -f "$HOME_TOKEN" "$HOME_TOKEN_MARK"
  elif [[ "${LAB_ALLOW_HOME_TOKEN:-0}" != 1 ]]; then
    die "$HOME_TOKEN exists (not created by the lab); it turns token auth on for Ray clients that do not set RAY_AUTH_MODE. Remove it, or set LAB_ALLOW_HOME_TOKEN=1 (the lab sets RAY_AUTH_MODE explicitly either way)."
  fi
fi
mkdir -p "$LAB"
rm -f "$LAB/auth_token"
if (( AUTH )); then
  # Same format as Ray's own generator (32 random bytes, hex); no newline.
  (umask 077; lab_python -c 'import secrets,sys; sys.stdout.write(secrets.token_hex(32))' >"$TOKEN_FILE")
fi
export_auth_env "$AUTH"

# --- Cluster config (test-systems.md §1.1) -------------------------------
# The fake provider's head id; worker ids count up from it. Giving the head
# that id (v2 requires it) also makes the autoscaler's node ids equal the
# real Ray node ids in v1.
HEAD_ID=$(cd /tmp && lab_python -c \
  'from ray.autoscaler._private.fake_multi_node.node_provider import FAKE_HEAD_NODE_ID as h; print(h)')
PROVIDER_TYPE="type: fake_multinode"
V2_PROVIDER_KEYS=""
if (( V2 )); then
  # The v2 monitor fills in provider defaults from fake_multi_node/example.yaml,
  # which the 2.60 wheel does not ship (FileNotFoundError in monitor.err, and
  # no node is ever launched). Loading the same provider class as an
  # "external" module skips that lookup; our config sets every key anyway.
  PROVIDER_TYPE="type: external
  module: ray.autoscaler._private.fake_multi_node.node_provider.FakeMultiNodeProvider"
  V2_PROVIDER_KEYS="  launch_multiple: true
  head_node_id: $HEAD_ID"
fi
CONFIG="$LAB/cluster.yaml"
cat >"$CONFIG" <<YAML
cluster_name: raytop-lab
max_workers: 5
provider:
  $PROVIDER_TYPE
  use_node_id_as_ip: true
  disable_node_updaters: true
  disable_launch_config_check: true
$V2_PROVIDER_KEYS
available_node_types:
  ray.head.default:
    resources: {CPU: 1}
    node_config: {}
    max_workers: 0
  cpu-group:
    resources: {CPU: 2}
    node_config: {}
    min_workers: 1
    max_workers: 3
  gpu-group:
    resources: {CPU: 1, GPU: 1, "accelerator_type:A100": 1}
    node_config: {}
    min_workers: 0
    max_workers: 2
head_node_type: ray.head.default
upscaling_speed: 1.0
idle_timeout_minutes: 1
docker: {image: none, container_name: none}
auth: {ssh_user: lab}
file_mounts: {}
cluster_synced_files: []
file_mounts_sync_continuously: false
initialization_commands: []
setup_commands: []
head_setup_commands: []
worker_setup_commands: []
head_start_ray_commands: []
worker_start_ray_commands: []
YAML

# The autoscaler only logs a bad config (monitor.err) and never scales, so
# check it parses here.
lab_python -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$CONFIG" \
  || die "generated $CONFIG is not valid YAML"

# --- Start the head ------------------------------------------------------
# The monitor writes every second here so tests see scaling soon (Ray's default is 5 s; set
# LAB_MONITOR_INTERVAL_S=5 to measure at the default, as lab/head_figures.py's figures do).
export RAY_FAKE_CLUSTER=1 AUTOSCALER_UPDATE_INTERVAL_S="${LAB_MONITOR_INTERVAL_S:-1}" RAY_USAGE_STATS_ENABLED=0
# Head identity as KubeRay gives it (instance id, node type name); the fake
# provider sets the same three variables for each worker node it launches.
export RAY_OVERRIDE_NODE_ID_FOR_TESTING="$HEAD_ID" RAY_CLOUD_INSTANCE_ID="$HEAD_ID" \
  RAY_NODE_TYPE_NAME=ray.head.default
if (( V2 )); then export RAY_enable_autoscaler_v2=1; else unset RAY_enable_autoscaler_v2; fi

{
  printf 'LAB_MODE=%s\n' "$([[ $V2 == 1 ]] && echo v2 || echo v1)"
  printf 'LAB_AUTH=%s\n' "$AUTH"
  printf 'LAB_MINIMAL=%s\n' "$MINIMAL"
  printf 'LAB_PORT=%s\n' "$PORT"
} >"$STATE_FILE"

# From here on a failure leaves processes behind: say how to clean up (the
# cluster is kept as it is, for inspection).
on_exit() {
  local rc=$?
  if (( rc != 0 )); then log "up.sh failed (exit $rc); inspect, then run lab/down.sh"; fi
}
trap on_exit EXIT

log "starting Ray head ($(sed -n 's/^LAB_MODE=//p' "$STATE_FILE"), auth=$AUTH) on $DASHBOARD_URL"
if ! ray start --head --num-cpus=1 --autoscaling-config="$CONFIG" \
    --dashboard-host=127.0.0.1 --dashboard-port="$PORT" --disable-usage-stats \
    >"$LAB/ray-start.log" 2>&1; then
  cat "$LAB/ray-start.log" >&2
  die "ray start failed"
fi
# Child processes of this script must not inherit the head's node id.
unset RAY_OVERRIDE_NODE_ID_FOR_TESTING RAY_CLOUD_INSTANCE_ID RAY_NODE_TYPE_NAME

wait_for 120 "dashboard answering 200 on /api/version" dashboard_ready \
  || die "dashboard not ready; see /tmp/ray/session_latest/logs/dashboard.log"

if [[ -f "$HOME_TOKEN" && ! -f "$HOME_TOKEN_MARK" && "${LAB_ALLOW_HOME_TOKEN:-0}" != 1 ]]; then
  # Ray should never do this with RAY_AUTH_TOKEN_PATH set; if it does, own it
  # so down.sh removes it.
  log "warning: Ray created $HOME_TOKEN; down.sh will remove it"
  : >"$HOME_TOKEN_MARK"
fi

if (( ! MINIMAL )); then
  # --- Tune sweep (test-systems.md §1.2), detached in its own session ------
  # so down.sh can stop it and its children as one process group.
  rm -rf "$TUNE_STORAGE"
  log "starting Tune sweeps (log: $TUNE_LOG)"
  # shellcheck disable=SC2016  # $$ and $1.. are for the inner bash
  LAB_TUNE_STORAGE="$TUNE_STORAGE" LAB_EPOCH_SECONDS="${LAB_EPOCH_SECONDS:-3}" \
    setsid bash -c 'echo $$ >"$1"; cd "$2"; exec "$3" -u "$4"' _ \
      "$TUNE_PID_FILE" "$LAB" "$VENV/bin/python" "$LAB_SCRIPTS/tune_sweep.py" \
      >"$TUNE_LOG" 2>&1 </dev/null &
  disown || true

  # --- Serve app `demo` (test-systems.md §1.3) -----------------------------
  log "deploying Serve app demo"
  lab_serve_deploy demo.yaml

  wait_for 300 "Serve app demo RUNNING with 3 RUNNING replicas" \
    lab_check serve-app demo RUNNING 3 || die "Serve app demo not RUNNING with 3 replicas (see $LAB/serve-deploy.log, /tmp/ray/session_latest/logs/serve/)"
  wait_for 180 "cluster event 'Adding ... node(s)'" lab_check event 'Adding [0-9]+ node' \
    || die "autoscaler never added a node"
  gpu_busy() { lab_check gpu-nodes 2 || lab_check gpu-demand; }
  wait_for 300 "gpu-group at 2 nodes or a pending GPU demand" gpu_busy \
    || die "no GPU scale-up seen; see $TUNE_LOG"
  lab_check show >&2 || true
fi
summary="lab up in $(( SECONDS - t0 ))s: dashboard $DASHBOARD_URL ($(sed -n 's/^LAB_MODE=//p' "$STATE_FILE") autoscaler"
if (( AUTH )); then summary+=", token file $TOKEN_FILE"; fi
if (( ! MINIMAL )); then summary+=", serve http://127.0.0.1:$SERVE_HTTP_PORT/demo, tune log $TUNE_LOG"; fi
printf '%s)\n' "$summary"
