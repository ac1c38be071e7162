#!/usr/bin/env bash
# Play KubeRay operator + scheduler + kubelet for one RayCluster (the lab has
# none of them): create its headless head service `<cluster>-head-svc`, its
# head pod `<cluster>-head-xxxxx` and worker pods `<cluster>-<group>-worker-xxxxx`
# (generateName-style, KubeRay's labels, containers from the group templates),
# bind them to fake nodes and set status via pods/status: Running, Ready,
# podIP/hostIP/startTime, containerStatuses (restartCount 0).
# Reconciles like the operator: creates missing pods (clamp(replicas,min,max) x
# numOfHosts), deletes pods named in scaleStrategy.workersToDelete, and removes
# surplus pods at random only when autoscaling is off. Safe to re-run.
#
# usage: lab/kube/fake-pods.sh [-n NS] [--pending GROUP]... [--reset] CLUSTER
#   --pending GROUP   leave one worker of GROUP Pending (PodScheduled=False,
#                     reason Unschedulable); repeat for more
#   --reset           rewrite the status of pods that are already Running
# Then run lab/kube/set-status.sh CLUSTER to update the RayCluster's status.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_state
exec "$(pick_python)" "$KSCRIPTS/kapi.py" fake-pods "$@"
