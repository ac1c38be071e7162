#!/usr/bin/env bash
# Builds the pod sandbox ("pause") image the lab's containerd starts for every pod: pause.c,
# linked statically, as the only file of an OCI image, user 65535. Cached outside the checkout,
# keyed by this recipe and pause.c. Prints the archive's path.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

CACHE="$RCACHE/images"
recipe=$(cat "$0" "$RSCRIPTS/pause.c" | sha256sum | cut -c1-12)
out="$CACHE/pause-$recipe.oci.tar"
if [[ -f "$out" ]]; then echo "$out"; exit 0; fi
command -v umoci >/dev/null || apt-get install -y -qq umoci >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -static -O2 -o "$work/pause" "$RSCRIPTS/pause.c"
umoci init --layout "$work/oci"
umoci new --image "$work/oci:pause"
umoci unpack --image "$work/oci:pause" "$work/bundle" >/dev/null
install -m 755 "$work/pause" "$work/bundle/rootfs/pause"
umoci repack --image "$work/oci:pause" "$work/bundle"
umoci config --image "$work/oci:pause" --config.entrypoint /pause --config.user 65535
mkdir -p "$CACHE"
tar -C "$work/oci" -cf "$out.part" .
mv "$out.part" "$out"
rlog "pause image built: $out"
echo "$out"
