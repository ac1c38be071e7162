#!/usr/bin/env bash
# Put the lab's Serve into a failed state, or back.
#
# Usage: lab/serve-fail.sh            deploy serve_app/demo-broken.yaml: `demo`
#                                     stays RUNNING, a second app `broken` ends
#                                     in DEPLOY_FAILED (user_config given to a
#                                     deployment without `reconfigure`)
#        lab/serve-fail.sh --restore  deploy serve_app/demo.yaml again: `broken`
#                                     is deleted, `demo` RUNNING with 3 replicas
# Needs a running lab (lab/up.sh without --minimal).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

require_venv
[[ -f "$STATE_FILE" ]] || die "no lab cluster is up (run lab/up.sh)"

case "${1:-}" in
  "")
    log "deploying demo-broken.yaml (apps demo + broken)"
    lab_serve_deploy demo-broken.yaml
    # Serve retries the failing replica a few times before giving up.
    wait_for 300 "Serve app broken in DEPLOY_FAILED" \
      lab_check serve-app broken DEPLOY_FAILED || die "broken never failed"
    ;;
  --restore)
    log "deploying demo.yaml (app demo only)"
    lab_serve_deploy demo.yaml
    wait_for 120 "Serve app broken deleted" lab_check app-absent broken \
      || die "broken not deleted"
    wait_for 300 "Serve app demo RUNNING with 3 RUNNING replicas" \
      lab_check serve-app demo RUNNING 3 || die "demo not running"
    ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  *) die "unknown argument: $1" ;;
esac
lab_check show >&2 || true
