#!/usr/bin/env bash
# Create-or-replace the objects in FILE... on the kube lab, as the admin user.
#
# usage: lab/kube/apply.sh [-q] [--curl|--kubectl] [-n NAMESPACE] FILE...
#   default: kubectl (built by build.sh) if present, else the HTTP path
#   --curl     plain HTTP through kapi.py: POST, and on 409 GET + PUT with the
#              current resourceVersion. YAML needs PyYAML: the Ray venv
#              (.lab/venv/bin/python) has it; otherwise files must be JSON.
#   --kubectl  kubectl apply (client-side apply) with .lab/kube/kubeconfig
#   -n NS      namespace for namespaced objects that name none (default ray-lab)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODE=auto QUIET=0 NS=$KNS
FILES=()
while (( $# )); do
  case $1 in
    -q) QUIET=1 ;;
    --curl) MODE=curl ;;
    --kubectl) MODE=kubectl ;;
    -n) NS=${2:?-n needs a namespace}; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) kdie "unknown option: $1" ;;
    *) FILES+=("$1") ;;
  esac
  shift
done
(( ${#FILES[@]} )) || kdie "usage: apply.sh [-q] [--curl|--kubectl] [-n NS] FILE..."
load_state
[[ $MODE == auto ]] && { [[ -x "$KBIN/kubectl" ]] && MODE=kubectl || MODE=curl; }

if [[ $MODE == kubectl ]]; then
  [[ -x "$KBIN/kubectl" ]] || kdie "no kubectl in $KBIN (build.sh --no-kubectl?): use --curl"
  args=()
  for f in "${FILES[@]}"; do args+=(-f "$f"); done
  if (( QUIET )); then
    "$KBIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" --context lab-admin -n "$NS" apply "${args[@]}" >/dev/null
  else
    "$KBIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" --context lab-admin -n "$NS" apply "${args[@]}"
  fi
else
  q=(); (( QUIET )) && q=(-q)
  exec "$(pick_python)" "$KSCRIPTS/kapi.py" apply "${q[@]}" -n "$NS" "${FILES[@]}"
fi
