#!/usr/bin/env bash
# Applies the lab's manifests (lab/kuberay/manifests) to the running KubeRay lab, as a user
# would with kubectl, with the viewer's role (rbac/viewer.yaml) and the Ray token Secret of
# raycluster-auth (a fresh random token, once per "up"), and waits until the operator has made
# raycluster-lab ready (head and worker Running and Ready), every head runs, and RayService
# rayservice-lab is Ready (its Serve apps RUNNING on the cluster the operator made for it).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ -f "$RSTATE" ]] || rdie "the KubeRay lab is not up: run lab/kuberay/up.sh"
kc() { "$RCACHE/k8s-$K8S_VERSION/bin/kubectl" --kubeconfig "$RKUBECONFIG" -n "$RNS" "$@"; }
start=$SECONDS
kc apply -f "$RSCRIPTS/rbac/viewer.yaml" >/dev/null
if ! kc get secret raycluster-auth-token >/dev/null 2>&1; then
  # From stdin, never on a command line another user could read in ps.
  printf 'token=%s\n' "$(openssl rand -hex 24)" | kc create secret generic raycluster-auth-token --from-env-file=/dev/stdin >/dev/null
fi
kc apply -f "$RSCRIPTS/manifests/" >/dev/null
wait_for() {
  local what=$1 limit=$2
  shift 2
  until "$@"; do
    ((SECONDS - start < limit)) || { kc get pods -o wide >&2; rdie "$what: not after $limit s"; }
    sleep 2
  done
}
lab_ready() { [[ $(kc get raycluster raycluster-lab -o jsonpath='{.status.state}' 2>/dev/null) == ready ]]; }
service_ready() {
  [[ $(kc get rayservice rayservice-lab -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
wait_for "raycluster-lab ready" 300 lab_ready
kc wait --for condition=Ready --timeout=300s pod -l ray.io/node-type=head >/dev/null
wait_for "rayservice-lab Ready" 420 service_ready
rlog "manifests applied; raycluster-lab ready, every head Ready, rayservice-lab Ready after $((SECONDS - start)) s"
