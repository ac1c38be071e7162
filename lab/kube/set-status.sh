#!/usr/bin/env bash
# Write a custom resource's /status as KubeRay would (the lab has no operator).
#
# usage: lab/kube/set-status.sh [-n NS] CLUSTER
#          RayCluster status computed from its spec and its pods (run
#          fake-pods.sh first): desired/min/max/available/readyWorkerReplicas,
#          desiredCPU/Memory/GPU/TPU, conditions HeadPodReady and
#          RayClusterProvisioned (sticky), state "ready" (sticky), head
#          {podIP, podName, serviceIP, serviceName}, endpoints, observedGeneration
#        lab/kube/set-status.sh [-n NS] --rayjob NAME [--job-status S] [--deployment-status D]
#          jobStatus (RUNNING), jobDeploymentStatus (Running), rayClusterName
#          (the clusterSelector's cluster), jobId, dashboardURL, start/endTime
#        lab/kube/set-status.sh [-n NS] --rayservice NAME [--cluster C] [--endpoints N]
#          serviceStatus Running, Ready condition, every serveConfigV2 app
#          RUNNING with HEALTHY deployments, numServeEndpoints N (1)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_state
exec "$(pick_python)" "$KSCRIPTS/kapi.py" set-status "$@"
