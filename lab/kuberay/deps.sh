#!/usr/bin/env bash
# Everything up.sh needs, each built or fetched once per machine and cached outside the checkout:
# Debian's containerd, runc, CNI plugins and iptables (apt); etcd (Debian's package, unpacked);
# Kubernetes (k8s-build.sh), the KubeRay operator (build.sh), CoreDNS (go install, here), the
# pause and Ray images (pause-image.sh, image.sh). Prints shell assignments for up.sh to eval:
# K8S_BIN, OPERATOR_DIR, COREDNS_BIN, ETCD_BIN, PAUSE_IMAGE, RAY_IMAGE. Progress goes to stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

need_pkgs=()
for p in containerd runc containernetworking-plugins iptables umoci debootstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if ((${#need_pkgs[@]})); then
  rlog "installing ${need_pkgs[*]} (apt)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# etcd: Debian's etcd-server, unpacked into the cache (not installed: no service is started).
etcd_dir="$RCACHE/etcd"
if [[ ! -x "$etcd_dir/usr/bin/etcd" ]]; then
  rlog "etcd: unpacking Debian's etcd-server"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq etcd-server >/dev/null 2>&1) \
    || { apt-get update -qq >/dev/null; (cd "$tmp" && apt-get download -qq etcd-server >/dev/null); }
  mkdir -p "$etcd_dir"
  dpkg -x "$tmp"/etcd-server_*.deb "$etcd_dir"
  rm -rf "$tmp"
fi

# CoreDNS, the cluster's DNS: KubeRay's workers reach the head by its Service's name.
dns_dir="$RCACHE/coredns-$COREDNS_VERSION/bin"
if [[ ! -x "$dns_dir/coredns" ]]; then
  rlog "CoreDNS $COREDNS_VERSION: go install (once per machine)"
  t=$SECONDS
  mkdir -p "$dns_dir"
  GOBIN="$dns_dir" go install "github.com/coredns/coredns@$COREDNS_VERSION"
  rlog "CoreDNS built in $((SECONDS - t)) s"
fi

k8s_bin=$(K8S_VERSION=$K8S_VERSION "$RSCRIPTS/k8s-build.sh" | tail -1)
operator_dir=$(KUBERAY_VERSION=$KUBERAY_VERSION "$RSCRIPTS/build.sh" | tail -1)
pause_image=$("$RSCRIPTS/pause-image.sh" | tail -1)
ray_image=$("$RSCRIPTS/image.sh" | tail -1)

printf 'K8S_BIN=%q\nOPERATOR_DIR=%q\nCOREDNS_BIN=%q\nETCD_BIN=%q\nPAUSE_IMAGE=%q\nRAY_IMAGE=%q\n' \
  "$k8s_bin" "$operator_dir" "$dns_dir/coredns" "$etcd_dir/usr/bin/etcd" "$pause_image" "$ray_image"
