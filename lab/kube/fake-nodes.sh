#!/usr/bin/env bash
# Play the kubelets (the lab has none): register lab-node-0 (no GPU, for heads)
# and lab-node-1..3 with nvidia.com/gpu capacity and allocatable, Ready, via
# nodes/status. fake-pods.sh binds pods to these names. Safe to re-run.
#
# usage: lab/kube/fake-nodes.sh [--count N] [--gpus G]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_state
exec "$(pick_python)" "$KSCRIPTS/kapi.py" fake-nodes "$@"
