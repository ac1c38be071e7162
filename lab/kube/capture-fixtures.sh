#!/usr/bin/env bash
# Capture tests/fixtures/k8s/ from the kube lab's API server: the lists raytop's watchers read
# (RayClusters, RayJobs, RayServices and Ray pods in ray-lab, its Events, the cluster's Nodes),
# each the API server's answer to the admin user, byte-exact, one file per kind.
#
# usage: lab/kube/capture-fixtures.sh [--setup] [OUTDIR]     (default OUTDIR: tests/fixtures/k8s)
#   --setup  first put the lab's objects in the state the fixtures show, with the same steps
#            lab/test.sh takes before its Kubernetes tests (manifests, fake nodes, fake pods with
#            one gpu-group worker Pending, statuses, events). Only on a fresh lab: it refuses
#            when RayClusters exist already.
# Needs the lab API server up (lab/kube/build.sh, then lab/kube/up.sh --rbac); without
# --setup, the objects must be as --setup leaves them: only raycluster-cpu and raycluster-gpu
# (no RayCluster `ray-lab` from pods-for-ray-lab.py, no test's scratch cluster), or the
# fixtures change what tests/k8s.rs sees. Then: cargo nextest run --test k8s, and review the
# snapshots that changed (ages follow the capture's own clock: see tests/k8s.rs capture_clock).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SETUP=0
OUT="$KROOT/tests/fixtures/k8s"
while (( $# )); do
  case $1 in
    --setup) SETUP=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) kdie "unknown option: $1" ;;
    *) OUT=$1 ;;
  esac
  shift
done
load_state
mkdir -p "$OUT"

NSP="/namespaces/$KNS"
# name -> path: what raytop lists and watches (src/source/kube/watch.rs).
declare -A LISTS=(
  [rayclusters]="/apis/ray.io/v1$NSP/rayclusters"
  [rayjobs]="/apis/ray.io/v1$NSP/rayjobs"
  [rayservices]="/apis/ray.io/v1$NSP/rayservices"
  [pods]="/api/v1$NSP/pods?labelSelector=ray.io%2Fis-ray-node%3Dyes"
  [events]="/api/v1$NSP/events"
  [nodes]="/api/v1/nodes"
)
ORDER=(rayclusters rayjobs rayservices pods events nodes)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# get NAME: the body of LISTS[NAME], exactly as served, to $TMP/NAME.json; fails unless 200.
get() {
  local code
  code=$(curl -sS --cacert "$KRUN/pki/apiserver.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Accept: application/json' -o "$TMP/$1.json" -w '%{http_code}' "$API_URL${LISTS[$1]}")
  [[ $code == 200 ]] || kdie "GET ${LISTS[$1]}: HTTP $code: $(head -c 300 "$TMP/$1.json")"
}

# The names of the items of a list body.
names() { python3 -c 'import json,sys; print(" ".join(i["metadata"]["name"] for i in json.load(open(sys.argv[1]))["items"]))' "$1"; }

if (( SETUP )); then
  get rayclusters
  existing=$(names "$TMP/rayclusters.json")
  [[ -z $existing ]] || kdie "--setup wants a fresh lab (lab/kube/down.sh && lab/kube/up.sh --rbac); RayClusters here: $existing"
  klog "setting up the objects as lab/test.sh does (lab/kube/seed.sh)"
  "$KSCRIPTS/seed.sh"
fi

for name in "${ORDER[@]}"; do get "$name"; done
clusters=$(names "$TMP/rayclusters.json")
[[ $clusters == "raycluster-cpu raycluster-gpu" ]] \
  || kdie "RayClusters in $KNS are \"$clusters\", not the lab's two (raycluster-cpu raycluster-gpu): not captured"
for name in "${ORDER[@]}"; do
  mv "$TMP/$name.json" "$OUT/$name.json"
  klog "$OUT/$name.json: $(names "$OUT/$name.json")"
done
