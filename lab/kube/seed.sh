#!/usr/bin/env bash
# The objects the Kubernetes tests (and the captured fixtures) read, on a lab API server that
# lab/kube/up.sh started: the manifests, nodes, the pods and status of raycluster-cpu and of
# raycluster-gpu (its GPU workers Pending), RayJob and RayService status, and the GPU cluster's
# events. One list, so lab/test.sh and capture-fixtures.sh set up the same lab.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$KSCRIPTS/apply.sh" -q "$KSCRIPTS"/manifests/*.yaml
"$KSCRIPTS/fake-nodes.sh" >/dev/null
"$KSCRIPTS/fake-pods.sh" raycluster-cpu >/dev/null
"$KSCRIPTS/set-status.sh" raycluster-cpu >/dev/null
"$KSCRIPTS/fake-pods.sh" --pending gpu-group raycluster-gpu >/dev/null
"$KSCRIPTS/set-status.sh" raycluster-gpu >/dev/null
"$KSCRIPTS/set-status.sh" --rayjob rayjob-sample >/dev/null
"$KSCRIPTS/set-status.sh" --rayservice rayservice-sample >/dev/null
"$KSCRIPTS/fake-events.sh" raycluster-gpu >/dev/null
