# shellcheck shell=bash
# Shared settings and helpers for the Kubernetes lab scripts. Sourced, never run.
# What one "up" makes lives under $KLAB (the repo's .lab/kube/, git-ignored), so
# `lab/kube/down.sh && rm -rf .lab/kube` leaves nothing of a run behind. What build.sh
# builds is cached outside the checkout ($KCACHE, keyed by the stamp of its recipe and
# package versions), so a fresh clone on the same machine builds nothing.

# shellcheck disable=SC2034  # variables are used by the scripts that source us

KROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KSCRIPTS="$KROOT/lab/kube"
KLAB="$KROOT/.lab/kube"
KCACHE="${RAYTOP_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/raytop-lab}/kube"
KBIN="$KCACHE/bin"
KSTAMP="$KBIN/.stamp"
KRUN="$KLAB/run"                 # everything of one "up": data, certs, logs, pids
KSTATE="$KRUN/lab.env"           # written by up.sh; its presence means "up"
KUBECONFIG_FILE="$KLAB/kubeconfig"
KNS="ray-lab"

klog() { printf '[kube-lab] %s\n' "$*" >&2; }
kdie() { printf '[kube-lab] ERROR: %s\n' "$*" >&2; exit 1; }

# Load the state of the running lab (API URL, ports, pids), or fail.
load_state() {
  [[ -f "$KSTATE" ]] || kdie "kube lab is not up (no $KSTATE): run lab/kube/up.sh"
  # shellcheck disable=SC1090
  source "$KSTATE"
}

# kcurl METHOD PATH [curl args...]  -- admin-token request against the lab API
# server. Prints the body; the HTTP status goes to the file named by
# $KCURL_STATUS if set. --cacert pins the lab's self-signed serving cert.
kcurl() {
  local method=$1 path=$2
  shift 2
  local token=${KTOKEN:-${ADMIN_TOKEN:?load_state first}}
  local out
  out=$(curl -sS --cacert "$KRUN/pki/apiserver.crt" -X "$method" \
    -H "Authorization: Bearer $token" -H 'Accept: application/json' \
    -w '\n%{http_code}' "$@" "$API_URL$path")
  if [[ -n "${KCURL_STATUS:-}" ]]; then printf '%s\n' "${out##*$'\n'}" >"$KCURL_STATUS"; fi
  printf '%s\n' "${out%$'\n'*}"
}

# Python with PyYAML if the Ray venv has it (it does), else system python3
# (then manifests must be JSON).
pick_python() {
  local p
  for p in "$KROOT/.lab/venv/bin/python" python3; do
    if command -v "$p" >/dev/null 2>&1; then
      if "$p" -c 'import yaml' 2>/dev/null; then echo "$p"; return; fi
    fi
  done
  command -v python3 || kdie "python3 is needed"
}

# Is TCP port $1 on 127.0.0.1 free? (bash's /dev/tcp: no extra tools needed)
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# First free port at or after $1, skipping the Ray lab's ports.
free_port() {
  local p=$1
  while :; do
    case $p in 6379|8000|8265|10001) ;; *) if port_free "$p"; then echo "$p"; return; fi ;; esac
    p=$((p + 1))
    (( p < $1 + 200 )) || kdie "no free port near $1"
  done
}
