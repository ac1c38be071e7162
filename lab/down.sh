#!/usr/bin/env bash
# Stop everything lab/up.sh started and remove the token files it made.
# Safe to run when nothing is up; exits non-zero if lab processes survive.
#
# Usage: lab/down.sh
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

# Send SIG to the process group led by pid (the Tune driver runs in its own
# session, see up.sh), or to the pid alone if it leads no group.
signal_group() {
  local sig=$1 pid=$2
  kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
}

# 1. The Tune driver first, so it does not see the cluster vanish and retry.
if [[ -f "$TUNE_PID_FILE" ]]; then
  pid=$(cat "$TUNE_PID_FILE")
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    log "stopping Tune driver (pid $pid)"
    signal_group TERM "$pid"
    gone() { ! kill -0 "$pid" 2>/dev/null; }
    wait_for 20 "Tune driver exit" gone || signal_group KILL "$pid"
  fi
  rm -f "$TUNE_PID_FILE"
fi

# 2. Ray itself: head, autoscaler, fake worker raylets, workers, dashboard.
if have_venv; then
  ray stop --force >"$LAB/ray-stop.log" 2>&1 || { cat "$LAB/ray-stop.log" >&2; true; }
fi

# 3. Anything still running from the lab venv (an agent that outlived its
#    raylet, a stray driver). Matched by the venv path only, so other
#    Python or Ray processes on the machine are left alone.
leftovers() { [[ -z "$(lab_venv_pids)" ]]; }
if ! leftovers; then
  mapfile -t pids < <(lab_venv_pids)
  log "terminating leftover lab processes: ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  if ! wait_for 15 "leftover lab processes to exit" leftovers; then
    mapfile -t pids < <(lab_venv_pids)
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
fi

# 4. Tokens: the lab's own file, and ~/.ray/auth_token only if the lab made it.
rm -f "$LAB/auth_token"
if [[ -n "${RAYTOP_LAB_TOKEN_FILE:-}" && -f "$STATE_FILE" ]] && lab_auth_on; then
  rm -f "$RAYTOP_LAB_TOKEN_FILE"
fi
if [[ -f "$HOME_TOKEN_MARK" ]]; then
  rm -f "$HOME_TOKEN" "$HOME_TOKEN_MARK"
  rmdir "$HOME/.ray" 2>/dev/null || true
fi
rm -f "$STATE_FILE"

# 5. Verify: no Ray daemon and nothing from the venv may remain.
left=$(pgrep -af 'raylet|gcs_server|ray::|dashboard/dashboard.py|autoscaler/_private/monitor.py' || true)
left+=$(lab_venv_pids | tr '\n' ' ')
if [[ -n "${left// /}" ]]; then
  log "still running after down:"
  printf '%s\n' "$left" >&2
  exit 1
fi
log "lab down (no Ray processes left)"
