#!/usr/bin/env bash
# usage: lab/kuberay/prometheus.sh up|down
#   up:   Prometheus as a pod in the KubeRay lab (on-demand/prometheus.yaml), behind
#         monitoring/prometheus-k8s:web; waits until it is Ready and scrapes every Ray pod.
#   down: deletes it (namespace monitoring and its role), and waits until it is gone.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ -f "$RSTATE" ]] || rdie "the KubeRay lab is not up: run lab/kuberay/up.sh"
kc() { "$RCACHE/k8s-$K8S_VERSION/bin/kubectl" --kubeconfig "$RKUBECONFIG" "$@"; }
manifest() { sed "s#PROM_BIN_DIR#$RROOT/.lab/prom/pkg/usr/bin#" "$RSCRIPTS/on-demand/prometheus.yaml"; }
case ${1:-} in
  up)
    "$RROOT/lab/prom/fetch.sh"
    start=$SECONDS
    manifest | kc apply -f - >/dev/null
    kc -n monitoring wait --for condition=Ready --timeout=120s pod/prometheus >/dev/null
    # Ready answers before the first scrape: wait until every Ray pod's target is up.
    until kc get --raw "/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy/api/v1/targets" 2>/dev/null \
        | python3 -c 'import json,sys; t=json.load(sys.stdin)["data"]["activeTargets"]; sys.exit(0 if t and all(x["health"]=="up" for x in t) else 1)'; do
      ((SECONDS - start < 120)) || rdie "Prometheus's Ray targets not all up after 120 s"
      sleep 2
    done
    rlog "Prometheus up in the lab after $((SECONDS - start)) s: monitoring/prometheus-k8s:web"
    ;;
  down)
    manifest | kc delete --ignore-not-found --wait=true -f - >/dev/null
    ;;
  *) rdie "usage: $0 up|down" ;;
esac
