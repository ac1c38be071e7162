#!/usr/bin/env bash
# Builds the real KubeRay operator from the Go module proxy, once per version, into the lab's
# cache outside the checkout, with the CRDs and RBAC its module carries (config/crd, config/rbac).
# A second run builds nothing. Prints the cache directory.
#   KUBERAY_VERSION=v1.4.0 lab/kuberay/build.sh   (default v1.5.0)
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

KUBERAY_VERSION="${KUBERAY_VERSION:-v1.5.0}"
MODULE=github.com/ray-project/kuberay/ray-operator
OUT="${RAYTOP_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/raytop-lab}/kuberay/$KUBERAY_VERSION"

if [[ -x "$OUT/bin/ray-operator" && -d "$OUT/config/crd" ]]; then
  log "KubeRay operator $KUBERAY_VERSION already built: $OUT"
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { log "go is missing: the operator is built with Go from the module proxy"; exit 1; }
mkdir -p "$OUT/bin"
start=$SECONDS
log "building the KubeRay operator $KUBERAY_VERSION (go install, once per machine)"
GOBIN="$OUT/bin" go install "$MODULE@$KUBERAY_VERSION"
# The module's own manifests, from the module cache the build just filled.
src=$(go mod download -json "$MODULE@$KUBERAY_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
rm -rf "$OUT/config"
mkdir -p "$OUT/config"
cp -r "$src/config/crd" "$src/config/rbac" "$OUT/config/"
chmod -R u+w "$OUT/config"
log "KubeRay operator $KUBERAY_VERSION built in $((SECONDS - start)) s: $OUT"
echo "$OUT"
