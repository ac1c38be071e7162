#!/usr/bin/env bash
# Builds the lab's Ray image without a registry: a Debian 12 root filesystem (debootstrap from
# the machine's own Debian source; Python there is 3.11, the lab's version) with Ray in
# /opt/ray, as an OCI archive that up.sh imports into containerd as rayproject/ray:2.60.0, so a
# user's manifest runs with its image tag unchanged. Cached outside the checkout, keyed by this
# recipe: a second run builds nothing. Prints the archive's path.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"

CACHE="${RAYTOP_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/raytop-lab}/kuberay/images"
recipe=$( { cat "$0"; echo "$RAY_SPEC"; } | sha256sum | cut -c1-12)
out="$CACHE/ray-$RAY_VERSION_PIN-$recipe.oci.tar"
if [[ -f "$out" ]]; then
  log "Ray image already built: $out"
  echo "$out"
  exit 0
fi
[[ $(id -u) == 0 ]] || { log "image.sh runs as root (debootstrap and chroot)"; exit 1; }
for tool in debootstrap umoci; do
  command -v "$tool" >/dev/null || apt-get install -y -qq "$tool" >/dev/null
done

# The Debian source apt already uses here: nothing is named in this script.
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[[ -n "$mirror" ]] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)
start=$SECONDS
work="$CACHE/build-$recipe"
rm -rf "$work"
mkdir -p "$work"
rootfs="$work/rootfs"
log "Ray image: Debian 12 root filesystem (debootstrap, a few minutes)"
debootstrap --variant=minbase \
  --include=bash,ca-certificates,procps,iproute2,wget,curl,python3,python3-venv,libgomp1 \
  bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

log "Ray image: $RAY_SPEC into /opt/ray (a few minutes)"
# pip inside the root filesystem trusts what the machine's pip trusts, and resolves names as the
# machine does; neither file stays in the image (the kubelet mounts its own resolv.conf).
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
cert="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
cp "$cert" "$rootfs/tmp/pip-ca.crt"
chroot "$rootfs" /usr/bin/python3 -m venv /opt/ray
chroot "$rootfs" env -i PATH=/opt/ray/bin:/usr/bin:/bin HOME=/root PIP_CERT=/tmp/pip-ca.crt \
  PIP_DEFAULT_TIMEOUT=180 PIP_DISABLE_PIP_VERSION_CHECK=1 \
  /opt/ray/bin/pip install --no-cache-dir --quiet "$RAY_SPEC" >"$work/pip.log" 2>&1 \
  || { tail -20 "$work/pip.log" >&2; exit 1; }
rm -f "$rootfs/tmp/pip-ca.crt" "$rootfs/etc/resolv.conf"
# As the project's images: user ray (uid 1000) with its home, ray on PATH.
chroot "$rootfs" /usr/sbin/useradd --uid 1000 --create-home --shell /bin/bash ray
# KubeRay starts Ray in a login shell (bash -lc), whose /etc/profile resets PATH: put Ray's first
# there too. (A symlink to the venv's python would not do: Python finds its venv next to the
# path it was started by.)
echo 'export PATH=/opt/ray/bin:$PATH' >"$rootfs/etc/profile.d/ray.sh"
rm -rf "$rootfs/var/cache/apt/archives"/*.deb "$rootfs/var/lib/apt/lists"/*

log "Ray image: OCI archive"
umoci init --layout "$work/oci"
umoci new --image "$work/oci:ray"
umoci unpack --image "$work/oci:ray" "$work/bundle" >/dev/null
rm -rf "$work/bundle/rootfs"
mv "$rootfs" "$work/bundle/rootfs"
umoci repack --image "$work/oci:ray" "$work/bundle"
umoci config --image "$work/oci:ray" \
  --config.env "PATH=/opt/ray/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --config.env "HOME=/home/ray" --config.user 1000 --config.workingdir /home/ray --config.cmd /bin/bash
mkdir -p "$CACHE"
tar -C "$work/oci" -cf "$out.part" .
mv "$out.part" "$out"
rm -rf "$work"
log "Ray image built in $((SECONDS - start)) s: $out ($(du -h "$out" | cut -f1))"
echo "$out"
