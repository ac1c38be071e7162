#!/usr/bin/env bash
# Debian's prometheus package, unpacked into .lab/prom/pkg (not installed), once: the binary
# lab/prom/up.sh runs on the host and lab/kuberay/prometheus.sh runs in a pod.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
PROM_DIR="$LAB/prom"
PKG="$PROM_DIR/pkg"
BIN="$PKG/usr/bin/prometheus"
mkdir -p "$PROM_DIR"
if [[ ! -x "$BIN" ]]; then
  log "fetching Debian's prometheus package (unpacked into $PKG, not installed)"
  (cd "$PROM_DIR" && rm -f prometheus_*.deb && { apt-get download prometheus >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get download prometheus >/dev/null; }; })
  rm -rf "$PKG" && dpkg -x "$PROM_DIR"/prometheus_*.deb "$PKG"
fi
[[ -x "$BIN" ]] || die "no prometheus binary at $BIN"
