#!/usr/bin/env bash
# Events the lab's missing controllers would have posted: KubeRay's CreatedWorkerPod on a
# RayCluster and the scheduler's FailedScheduling on its Pending pod (there is no operator or
# scheduler in the kube lab). Usage: lab/kube/fake-events.sh CLUSTER   (namespace ray-lab)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
source "$here/../../.lab/kube/run/lab.env"
cluster=$1
ns=ray-lab
ca="$here/../../.lab/kube/run/pki/apiserver.crt"
api() { curl -sS --fail --cacert "$ca" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' "$@"; }
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
post() {  # KIND NAME TYPE REASON MESSAGE SOURCE
  local name="$2.$(date +%s%N)"
  api -X POST "$API_URL/api/v1/namespaces/$ns/events" --data @- >/dev/null <<JSON
{"apiVersion":"v1","kind":"Event","metadata":{"name":"$name","namespace":"$ns"},
 "involvedObject":{"kind":"$1","name":"$2","namespace":"$ns"},
 "type":"$3","reason":"$4","message":"$5","source":{"component":"$6"},
 "firstTimestamp":"$now","lastTimestamp":"$now","count":1}
JSON
}
post RayCluster "$cluster" Normal CreatedWorkerPod "Created worker Pod $ns/$cluster-worker" raycluster-controller
pending=$(api "$API_URL/api/v1/namespaces/$ns/pods?labelSelector=ray.io%2Fcluster%3D$cluster" \
  | python3 -c 'import json,sys; print(next((p["metadata"]["name"] for p in json.load(sys.stdin)["items"] if p["status"].get("phase")=="Pending"), ""))')
if [[ -n "$pending" ]]; then
  post Pod "$pending" Warning FailedScheduling "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." default-scheduler
fi
echo "[kube-lab] events posted for $cluster"
