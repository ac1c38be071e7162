#!/usr/bin/env bash
# Shared settings and helpers for the raytop lab scripts. Sourced, never run.
# Everything the lab creates lives under $LAB (the repo's .lab/, git-ignored),
# so a checkout is clean again after `lab/down.sh && rm -rf .lab`.

# shellcheck disable=SC2034  # variables are used by the scripts that source us

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_SCRIPTS="$ROOT/lab"
LAB="$ROOT/.lab"
VENV="$LAB/venv"
RAY_VERSION_PIN="2.60.0"
RAY_SPEC="ray[default,serve,tune]==$RAY_VERSION_PIN"
# The stamp records exactly what was installed; setup.sh reinstalls when it differs.
VENV_STAMP="$VENV/.raytop-lab-stamp"
# Builds that outlive a checkout (Kubernetes, the operator, images, cargo's target for CI).
CACHE_ROOT="${RAYTOP_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/raytop-lab}"
# Where cargo puts the binaries the scripts run: the checkout's target/ unless told otherwise.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

PORT="${RAYTOP_LAB_PORT:-8265}"
DASHBOARD_URL="http://127.0.0.1:$PORT"
SERVE_HTTP_PORT="${RAYTOP_LAB_SERVE_PORT:-8000}"

# Token auth: up.sh --auth writes a fresh token here and hands it to Ray
# through RAY_AUTH_TOKEN_PATH, so nothing is written to ~/.ray.
TOKEN_FILE="${RAYTOP_LAB_TOKEN_FILE:-$LAB/auth_token}"
# Ray's default token location: any file there silently turns token auth on
# for every later `ray start` whose RAY_AUTH_MODE is unset.
HOME_TOKEN="$HOME/.ray/auth_token"
# Present only if the lab itself created $HOME_TOKEN (down.sh removes both).
HOME_TOKEN_MARK="$LAB/home_token_created"

# Describes the running lab (mode, auth, port); written by up.sh, removed by
# down.sh. Its presence is how up.sh knows a lab cluster is already up.
STATE_FILE="$LAB/cluster.env"
TUNE_PID_FILE="$LAB/tune.pid"
TUNE_LOG="$LAB/tune.log"
TUNE_STORAGE="$LAB/tune-results"

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# wait_for TIMEOUT_S DESCRIPTION CMD [ARGS...]
# Polls CMD once a second until it succeeds; fails after TIMEOUT_S seconds.
# Polling a real condition beats fixed sleeps: fast when things are fast,
# and a clear message when they never happen.
wait_for() {
  local timeout=$1 what=$2
  shift 2
  local start=$SECONDS
  log "waiting (<= ${timeout}s) for: $what"
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= timeout )); then
      log "timed out after ${timeout}s waiting for: $what"
      return 1
    fi
    sleep 1
  done
  log "ok after $(( SECONDS - start ))s: $what"
}

have_venv() { [[ -x "$VENV/bin/python" && -f "$VENV_STAMP" ]]; }
require_venv() { have_venv || die "lab venv missing: run lab/setup.sh first"; }

# The venv's tools, never whatever `ray`/`serve` happen to be on PATH.
ray() { "$VENV/bin/ray" "$@"; }
serve() { "$VENV/bin/serve" "$@"; }
lab_python() { "$VENV/bin/python" "$@"; }

# Is the running lab in token mode? (read from the state file up.sh wrote)
lab_auth_on() { [[ -f "$STATE_FILE" ]] && grep -qx 'LAB_AUTH=1' "$STATE_FILE"; }

# Export what every Ray process we start (ray start, the Tune driver, the
# serve CLI) needs to agree on the auth mode. The mode is always explicit:
# with RAY_AUTH_MODE unset, Ray 2.60 turns token auth on whenever it finds a
# token anywhere (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token).
export_auth_env() {
  unset RAY_AUTH_TOKEN
  if [[ "${1:-0}" == 1 ]]; then
    export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$TOKEN_FILE"
  else
    unset RAY_AUTH_TOKEN_PATH
    export RAY_AUTH_MODE=disabled
  fi
}

# lab/check.py with the dashboard address and, in token mode, the token.
lab_check() {
  local token=""
  if lab_auth_on; then token="$TOKEN_FILE"; fi
  LAB_DASHBOARD_URL="$DASHBOARD_URL" LAB_TOKEN_FILE="$token" \
    lab_python "$LAB_SCRIPTS/check.py" "$@"
}

# True when something answers HTTP on the dashboard port (401 counts).
dashboard_answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$DASHBOARD_URL/api/version" || true)
  [[ -n "$code" && "$code" != "000" ]]
}

# True when the dashboard serves /api/version with 200 (token sent if needed).
dashboard_ready() {
  local args=(-s -o /dev/null -w '%{http_code}' --max-time 5)
  if lab_auth_on; then args+=(-H "Authorization: Bearer $(cat "$TOKEN_FILE")"); fi
  [[ "$(curl "${args[@]}" "$DASHBOARD_URL/api/version" || true)" == 200 ]]
}

# Render a Serve config from lab/serve_app/ into .lab/, filling in the
# absolute path of lab/serve_app (Serve finds the module via PYTHONPATH) and
# the HTTP port. Prints the rendered path.
render_serve_config() {
  local name=$1 out="$LAB/$1"
  sed -e "s|@SERVE_APP_DIR@|$LAB_SCRIPTS/serve_app|g" \
      -e "s|@SERVE_HTTP_PORT@|$SERVE_HTTP_PORT|g" \
      "$LAB_SCRIPTS/serve_app/$name" >"$out"
  printf '%s\n' "$out"
}

# serve deploy against the lab dashboard, in the lab's auth mode.
lab_serve_deploy() {
  local cfg
  cfg=$(render_serve_config "$1")
  if lab_auth_on; then export_auth_env 1; else export_auth_env 0; fi
  serve deploy "$cfg" -a "$DASHBOARD_URL" >"$LAB/serve-deploy.log" 2>&1 \
    || { cat "$LAB/serve-deploy.log" >&2; die "serve deploy $1 failed"; }
}

# Pids of processes whose command line mentions the lab venv (the Tune
# driver, raylets and gcs_server started from it, dashboard, agents).
lab_venv_pids() { pgrep -f -- "$VENV/" || true; }
