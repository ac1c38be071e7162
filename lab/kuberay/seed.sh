#!/usr/bin/env bash
# Applies the lab's manifests (lab/kuberay/manifests) to the running KubeRay lab, as a user
# would with kubectl, and waits until the operator has made raycluster-lab ready (head and
# worker Running and Ready) and the other clusters' heads run.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ -f "$RSTATE" ]] || rdie "the KubeRay lab is not up: run lab/kuberay/up.sh"
kc() { "$RCACHE/k8s-$K8S_VERSION/bin/kubectl" --kubeconfig "$RKUBECONFIG" -n "$RNS" "$@"; }
start=$SECONDS
kc apply -f "$RSCRIPTS/manifests/" >/dev/null
until [[ $(kc get raycluster raycluster-lab -o jsonpath='{.status.state}' 2>/dev/null) == ready ]]; do
  ((SECONDS - start < 300)) || { kc get pods -o wide >&2; rdie "raycluster-lab not ready after 300 s"; }
  sleep 2
done
kc wait --for condition=Ready --timeout=300s pod -l ray.io/node-type=head >/dev/null
rlog "manifests applied; raycluster-lab ready and every head Ready after $((SECONDS - start)) s"
