#!/usr/bin/env bash
# Create the lab's Python environment (.lab/venv) with Ray pinned, and make
# sure tmux (TUI tests drive raytop inside tmux) and cargo-nextest exist.
# Idempotent: does nothing when the stamp shows the pinned spec is installed.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

mkdir -p "$LAB"

if ! command -v tmux >/dev/null 2>&1; then
  log "installing tmux"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
  # Try without refreshing indexes first; update only if that fails.
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; then
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
  fi
fi

# The test runner, for lab/test.sh (--for-tests): the demo does not wait for its build.
# Timeouts are in .config/nextest.toml.
if [[ "${1:-}" == --for-tests ]] && ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest (a few minutes, once per machine)"
  cargo install --locked cargo-nextest --quiet
fi

PYTHON="${LAB_PYTHON:-python3}"
want_stamp="$RAY_SPEC python=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# The S3-compatible server Tune's cloud-storage tests write to (moto 5.2.1 breaks pyarrow's
# multipart uploads; 5.2.5 works), with boto3 to make its bucket.
S3_SPEC='moto[server]>=5.2.5'
if [[ -f "$VENV_STAMP" && "$(cat "$VENV_STAMP")" == "$want_stamp" ]] \
   && "$VENV/bin/python" -c 'import ray, ray.serve, ray.tune' 2>/dev/null; then
  if ! "$VENV/bin/python" -c 'import moto.server, boto3' 2>/dev/null; then
    log "adding $S3_SPEC to $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$S3_SPEC"
  fi
  log "venv ready ($want_stamp)"
  exit 0
fi

start=$SECONDS
log "creating $VENV with $RAY_SPEC (one to two minutes)"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$RAY_SPEC" "$S3_SPEC"
got=$("$VENV/bin/python" -c 'import ray; print(ray.__version__)')
[[ "$got" == "$RAY_VERSION_PIN" ]] || die "installed ray $got, wanted $RAY_VERSION_PIN"
printf '%s\n' "$want_stamp" >"$VENV_STAMP"
log "venv ready in $(( SECONDS - start ))s ($want_stamp)"
