#!/usr/bin/env bash
# Builds Kubernetes' own components (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy, kubectl) from the Go module proxy, once per version, into the lab's cache
# outside the checkout. k8s.io/kubernetes points its staging modules (k8s.io/api, client-go, …)
# at paths inside its own tree, which the proxy's copy does not hold, so a wrapper module
# requires it and pins each staging module to its published twin (v0.<minor>.<patch>).
#   K8S_VERSION=v1.34.4 lab/kuberay/k8s-build.sh      prints the directory of the binaries
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

# 1.34: this machine kind is cgroup v1, which kubelet 1.35 and later refuse by default.
K8S_VERSION="${K8S_VERSION:-v1.34.4}"
OUT="${RAYTOP_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/raytop-lab}/kuberay/k8s-$K8S_VERSION"
COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

missing=()
for c in "${COMMANDS[@]}"; do [[ -x "$OUT/bin/$c" ]] || missing+=("$c"); done
if ((${#missing[@]} == 0)); then
  log "Kubernetes $K8S_VERSION already built: $OUT/bin"
  echo "$OUT/bin"
  exit 0
fi
command -v go >/dev/null || { log "go is missing: Kubernetes is built with Go from the module proxy"; exit 1; }
start=$SECONDS
staging_version="v0.${K8S_VERSION#v1.}"
mod="$OUT/module"
mkdir -p "$mod" "$OUT/bin"
cd "$mod"
# The staging modules, as the main module's own go.mod names them.
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
go_line=$(awk '$1 == "go" {print $2; exit}' "$gomod")
{
  echo "module raytop.lab/kubernetes"
  echo
  echo "go $go_line"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$gomod"
  echo ")"
} >go.mod
cat >tools.go <<'GO'
//go:build tools

// The commands this module builds, so that go mod tidy keeps what they need.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubectl/pkg/cmd"
)
GO
log "Kubernetes $K8S_VERSION: resolving the module graph"
go mod tidy -e >tidy.log 2>&1 || { tail -20 tidy.log >&2; exit 1; }
# What `kubectl version` and the API server's /version report.
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
for c in "${missing[@]}"; do
  t=$SECONDS
  pkg="k8s.io/kubernetes/cmd/$c"
  log "Kubernetes $K8S_VERSION: building $c"
  CGO_ENABLED=0 go build -tags tools -trimpath -ldflags "$ldflags" -o "$OUT/bin/$c" "$pkg" 2>"$OUT/build-$c.log" \
    || { tail -20 "$OUT/build-$c.log" >&2; exit 1; }
  log "built $c in $((SECONDS - t)) s"
done
log "Kubernetes $K8S_VERSION built in $((SECONDS - start)) s: $OUT/bin"
echo "$OUT/bin"
