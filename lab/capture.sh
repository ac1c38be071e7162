#!/usr/bin/env bash
# Capture real dashboard responses as test fixtures: OUTDIR/<name>.json holds
# the body exactly as served; OUTDIR/<name>.status holds the HTTP status code
# when it is not 200 (e.g. 401), and is removed when it is 200.
#
# Usage: lab/capture.sh [--no-token] [--suffix SFX] OUTDIR [NAME...]
#   NAME       capture only these endpoints (default: all listed below)
#   --no-token never send the token (to capture 401 answers)
#   --suffix   write <name><SFX>.json, e.g. --suffix _noauth
# The token (Authorization: Bearer) is sent when a token file exists
# ($RAYTOP_LAB_TOKEN_FILE, else .lab/auth_token) and the dashboard reports
# token mode. Plain curl: no browser-like User-Agent, Origin or Referer,
# which Ray 2.60 treats differently.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

declare -A ENDPOINTS=(
  [version]="/api/version"
  [authentication_mode]="/api/authentication_mode"
  [v0_nodes]="/api/v0/nodes?detail=1&limit=1000"
  [nodes_summary]="/nodes?view=summary"
  [cluster_status]="/api/cluster_status"
  [cluster_status_format1]="/api/cluster_status?format=1"
  [cluster_events]="/api/v0/cluster_events?limit=1000"
  [serve_applications]="/api/serve/applications/"
  [jobs]="/api/jobs/"
  [actors]="/api/v0/actors?detail=1&limit=1000"
  [train_runs]="/api/train/v2/runs/v1"
)
ORDER=(version authentication_mode v0_nodes nodes_summary cluster_status
       cluster_status_format1 cluster_events serve_applications jobs actors train_runs)

SEND_TOKEN=1 SUFFIX=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-token) SEND_TOKEN=0; shift ;;
    --suffix) SUFFIX=${2:?--suffix needs a value}; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) die "unknown option: $1" ;;
    *) break ;;
  esac
done
OUT=${1:?usage: lab/capture.sh [--no-token] [--suffix SFX] OUTDIR [NAME...]}
shift
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then names=("${ORDER[@]}"); fi
for n in "${names[@]}"; do
  [[ -n "${ENDPOINTS[$n]:-}" ]] || die "unknown endpoint name: $n (known: ${ORDER[*]})"
done

headers=()
if (( SEND_TOKEN )) && [[ -s "$TOKEN_FILE" ]]; then
  # Ask the (public) auth-mode endpoint rather than trusting local state, so
  # this also works against a cluster the lab did not start.
  mode=$(curl -sS --max-time 10 "$DASHBOARD_URL/api/authentication_mode" || true)
  if [[ "$mode" == *'"token"'* ]]; then
    headers=(-H "Authorization: Bearer $(cat "$TOKEN_FILE")")
  fi
fi

mkdir -p "$OUT"
for n in "${names[@]}"; do
  body="$OUT/$n$SUFFIX.json"
  code=$(curl -sS --max-time 60 "${headers[@]}" -o "$body" -w '%{http_code}' \
    "$DASHBOARD_URL${ENDPOINTS[$n]}") || die "request failed: ${ENDPOINTS[$n]}"
  if [[ "$code" == 200 ]]; then
    rm -f "$OUT/$n$SUFFIX.status"
  else
    printf '%s\n' "$code" >"$OUT/$n$SUFFIX.status"
  fi
  printf '%-24s %s %7s bytes  %s\n' "$n$SUFFIX" "$code" "$(wc -c <"$body")" "${ENDPOINTS[$n]}"
done
