#!/usr/bin/env bash
# usage: lab/kuberay/capture-fixtures.sh [OUTDIR]     (default: tests/fixtures/k8s)
# The Kubernetes lists raytop's watchers read, as the KubeRay lab's API server answers them to
# the admin user, from a freshly seeded lab (up.sh, seed.sh; refused otherwise):
#   1. the RayJob of on-demand/rayjob-train.yaml, until the operator reports its Ray job RUNNING:
#      rayjobs.json then; the RayJob is deleted again (its cluster with it);
#   2. the node advertises 1 nvidia.com/gpu, an extended resource with no device behind it (as
#      Kubernetes documents for extended resources), and raycluster-gpu's gpu-workers go to 2 of
#      max 2 (a group at its max, for the tests of what that refuses): the scheduler places one
#      (Ray starts it with one logical GPU) and leaves the other Pending for "Insufficient
#      nvidia.com/gpu";
#   3. rayclusters, rayservices, pods (Ray's), events and nodes, as served (compact JSON);
#   4. put back: gpu-workers 1 of max 4, the node's GPU withdrawn.
# Then: cargo nextest run --test k8s, and review every snapshot that changed.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OUT="${1:-$RROOT/tests/fixtures/k8s}"
[[ -f "$RSTATE" ]] || rdie "the KubeRay lab is not up: run lab/kuberay/up.sh and seed.sh"
# shellcheck disable=SC1090
source "$RSTATE"
kc() { "$RCACHE/k8s-$K8S_VERSION/bin/kubectl" --kubeconfig "$RKUBECONFIG" -n "$RNS" "$@"; }
have=$(kc get rayclusters -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | grep -v '^rayservice-lab-' | sort | tr '\n' ' ')
want="raycluster-auth raycluster-autoscaler raycluster-gpu raycluster-lab "
[[ $have == "$want" ]] || rdie "RayClusters here are \"$have\", not the seed's ($want): run down.sh, up.sh, seed.sh"

TMP=$(mktemp -d)
restore() {
  kc patch raycluster raycluster-gpu --type json \
    -p '[{"op":"replace","path":"/spec/workerGroupSpecs/0/replicas","value":1},{"op":"replace","path":"/spec/workerGroupSpecs/0/maxReplicas","value":4}]' >/dev/null 2>&1 || true
  kc patch node "$NODE_NAME" --subresource status --type json \
    -p '[{"op":"remove","path":"/status/capacity/nvidia.com~1gpu"}]' >/dev/null 2>&1 || true
  kc delete -f "$RSCRIPTS/on-demand/rayjob-train.yaml" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap restore EXIT

# get NAME PATH: the API server's answer to the admin user, as served.
get() {
  local code
  code=$(curl -sS --cacert "$RRUN/pki/apiserver.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Accept: application/json' -o "$TMP/$1.json" -w '%{http_code}' "$API_URL$2")
  [[ $code == 200 ]] || rdie "GET $2: HTTP $code: $(head -c 300 "$TMP/$1.json")"
}
until_true() {  # until_true SECONDS WHAT CMD...
  local limit=$1 what=$2 start=$SECONDS
  shift 2
  until "$@"; do
    ((SECONDS - start < limit)) || rdie "$what: not after $limit s"
    sleep 2
  done
  rlog "$what after $((SECONDS - start)) s"
}
NSP="/namespaces/$RNS"

kc apply -f "$RSCRIPTS/on-demand/rayjob-train.yaml" >/dev/null
job_running() { [[ $(kc get rayjob rayjob-train -o jsonpath='{.status.jobStatus}' 2>/dev/null) == RUNNING ]]; }
until_true 300 "RayJob rayjob-train RUNNING" job_running
get rayjobs "/apis/ray.io/v1$NSP/rayjobs"
kc delete -f "$RSCRIPTS/on-demand/rayjob-train.yaml" --wait=true >/dev/null

kc patch node "$NODE_NAME" --subresource status --type json \
  -p '[{"op":"add","path":"/status/capacity/nvidia.com~1gpu","value":"1"}]' >/dev/null
kc patch raycluster raycluster-gpu --type json \
  -p '[{"op":"replace","path":"/spec/workerGroupSpecs/0/replicas","value":2},{"op":"replace","path":"/spec/workerGroupSpecs/0/maxReplicas","value":2}]' >/dev/null
gpu_split() {
  local phases
  phases=$(kc get pods -l ray.io/cluster=raycluster-gpu,ray.io/group=gpu-workers \
    -o jsonpath='{range .items[*]}{.status.phase}{"/"}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | sort | tr '\n' ' ')
  [[ $phases == "Pending/ Running/True " || $phases == "Pending/False Running/True " ]]
}
until_true 240 "raycluster-gpu: one GPU worker Ready, one Pending" gpu_split
sleep 5  # the operator's status write after the pod's readiness
get rayclusters "/apis/ray.io/v1$NSP/rayclusters"
get rayservices "/apis/ray.io/v1$NSP/rayservices"
get pods "/api/v1$NSP/pods?labelSelector=ray.io%2Fis-ray-node%3Dyes"
get events "/api/v1$NSP/events"
get nodes "/api/v1/nodes"
mkdir -p "$OUT"
for f in rayjobs rayclusters rayservices pods events nodes; do
  mv "$TMP/$f.json" "$OUT/$f.json"
  rlog "$OUT/$f.json: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]), "items")' "$OUT/$f.json")"
done
