#!/usr/bin/env bash
# Check the running kube lab with plain curl, the way raytop will use it.
# Expects the manifests applied and fake-pods.sh run for both clusters
# (see README.md). Prints one line per check with the HTTP status and the
# Status reason the server gave; exits non-zero if any check failed.
#
# usage: lab/kube/smoke.sh [--watch-410]
#   --watch-410  also provoke a 410 on a watch from an old resourceVersion
#                (takes up to ~2 compaction intervals; best with
#                up.sh --no-watch-cache)
# Checks that depend on the mode (RBAC or AlwaysAllow) follow lab.env.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_state

WATCH410=0
[[ "${1:-}" == --watch-410 ]] && WATCH410=1
CA="$KRUN/pki/apiserver.crt"
NSP="/namespaces/$KNS"
RC="/apis/ray.io/v1$NSP/rayclusters"
FAILED=0
BODY=$(mktemp)
trap 'rm -f "$BODY"' EXIT

# req TOKEN METHOD PATH [curl args]: body to $BODY, prints the HTTP status.
req() {
  local token=$1 method=$2 path=$3
  shift 3
  curl -sS --cacert "$CA" -o "$BODY" -w '%{http_code}' -X "$method" \
    -H "Authorization: Bearer $token" -H 'Accept: application/json' "$@" "$API_URL$path"
}
# jq-less JSON peek with python: EXPR is evaluated with `d` = parsed body.
peek() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$BODY"; }
check() {  # check WHAT WANT GOT [detail]
  if [[ "$2" == "$3" ]]; then echo "ok    $1: HTTP $3${4:+ ($4)}"
  else echo "FAIL  $1: want HTTP $2, got $3${4:+ ($4)}"; FAILED=1; fi
}
reason() { peek "d.get('reason','')+': '+d.get('message','')" 2>/dev/null || head -c 300 "$BODY"; }

for r in rayclusters rayjobs rayservices; do
  code=$(req "$ADMIN_TOKEN" GET "/apis/ray.io/v1$NSP/$r")
  check "list $r" 200 "$code" "$(peek "', '.join(i['metadata']['name'] for i in d['items'])")"
done
code=$(req "$ADMIN_TOKEN" GET "/api/v1$NSP/pods?labelSelector=ray.io%2Fis-ray-node%3Dyes")
check "list pods ray.io/is-ray-node=yes" 200 "$code" \
  "$(peek "' '.join(i['metadata']['name']+'='+i['status']['phase'] for i in d['items'])")"

# Scaling the way raytop should: RFC 6902 patch guarded by a `test` on groupName.
patch() {
  req "$ADMIN_TOKEN" PATCH "$RC/raycluster-cpu" -H 'Content-Type: application/json-patch+json' --data "$1"
}
code=$(patch '[{"op":"test","path":"/spec/workerGroupSpecs/0/groupName","value":"cpu-group"},
               {"op":"replace","path":"/spec/workerGroupSpecs/0/maxReplicas","value":4}]')
check "json-patch with passing test op" 200 "$code" "maxReplicas now $(peek "d['spec']['workerGroupSpecs'][0]['maxReplicas']"), generation $(peek "d['metadata']['generation']")"
patch '[{"op":"replace","path":"/spec/workerGroupSpecs/0/maxReplicas","value":3}]' >/dev/null
code=$(patch '[{"op":"test","path":"/spec/workerGroupSpecs/0/groupName","value":"gpu-group"},
               {"op":"replace","path":"/spec/workerGroupSpecs/0/maxReplicas","value":9}]')
check "json-patch with failing test op" 422 "$code" "$(reason)"

# /status is a separate subresource: a main-resource patch of status is ignored.
code=$(req "$ADMIN_TOKEN" PATCH "$RC/raycluster-cpu" -H 'Content-Type: application/merge-patch+json' \
  --data '{"status":{"state":"bogus"}}')
check "merge-patch of status on main resource is ignored" 200 "$code" "state=$(peek "d.get('status',{}).get('state')")"

if [[ "$AUTHZ" == RBAC ]]; then
  code=$(req "$VIEWER_TOKEN" GET "$RC")
  check "viewer lists rayclusters (RBAC)" 200 "$code"
  code=$(req "$VIEWER_TOKEN" GET "/api/v1$NSP/pods")
  check "viewer lists pods (RBAC: forbidden)" 403 "$code" "$(reason)"
  code=$(req "$VIEWER_TOKEN" PATCH "$RC/raycluster-cpu" -H 'Content-Type: application/json-patch+json' \
    --data '[{"op":"replace","path":"/spec/workerGroupSpecs/0/maxReplicas","value":3}]')
  check "viewer patches a raycluster (RBAC: forbidden)" 403 "$code" "$(reason)"
else
  code=$(req "$VIEWER_TOKEN" GET "/api/v1$NSP/pods")
  check "viewer lists pods (AlwaysAllow)" 200 "$code"
fi
code=$(req bogus-token GET "$RC")
check "unknown token" 401 "$code" "$(reason)"

if (( WATCH410 )); then
  # An old resourceVersion, then writes, then wait for the API server's
  # compactor (it compacts every interval, to the revision it saw one
  # interval earlier) until a watch from that version is refused.
  req "$ADMIN_TOKEN" GET "$RC" >/dev/null
  OLD_RV=$(peek "d['metadata']['resourceVersion']")
  for i in 1 2 3; do
    patch "[{\"op\":\"replace\",\"path\":\"/spec/workerGroupSpecs/0/maxReplicas\",\"value\":$((3 + i % 2))}]" >/dev/null
  done
  start=$SECONDS got=""
  while (( SECONDS - start < 150 )); do
    code=$(req "$ADMIN_TOKEN" GET "$RC?watch=1&resourceVersion=$OLD_RV&timeoutSeconds=2" --max-time 10)
    if grep -q '"code":410' "$BODY" || [[ "$code" == 410 ]]; then
      got="HTTP $code after $((SECONDS - start))s, body: $(head -c 400 "$BODY")"
      break
    fi
    sleep 5
  done
  patch '[{"op":"replace","path":"/spec/workerGroupSpecs/0/maxReplicas","value":3}]' >/dev/null
  if [[ -n "$got" ]]; then echo "ok    watch from compacted resourceVersion $OLD_RV: $got"
  else echo "FAIL  watch from resourceVersion $OLD_RV: no 410 within 150s (watch cache: $WATCH_CACHE)"; FAILED=1; fi
fi
exit $FAILED
