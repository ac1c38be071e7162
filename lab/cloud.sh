#!/usr/bin/env bash
# The cloud-storage servers Tune's gs:// and az:// tests write to, each installed once per
# machine into the cache (moto, for s3://, is in the lab's venv: setup.sh):
#   fake-gcs-server, a GCS emulator, from its Go module;
#   Azurite, Microsoft's Azure Storage emulator, from its npm package (Node.js from the machine).
# Prints shell assignments for the caller to eval: FAKE_GCS_BIN, AZURITE_BIN. Progress to stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

FAKE_GCS_VERSION="${FAKE_GCS_VERSION:-v1.56.1}"
AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"

gcs_dir="$CACHE_ROOT/fake-gcs-server-$FAKE_GCS_VERSION"
if [[ ! -x "$gcs_dir/bin/fake-gcs-server" ]]; then
  log "fake-gcs-server $FAKE_GCS_VERSION: go install (once per machine)"
  t=$SECONDS
  mkdir -p "$gcs_dir/bin"
  GOBIN="$gcs_dir/bin" go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION" >&2
  log "fake-gcs-server built in $((SECONDS - t)) s"
fi

azurite_dir="$CACHE_ROOT/azurite-$AZURITE_VERSION"
if [[ ! -x "$azurite_dir/node_modules/.bin/azurite-blob" ]]; then
  command -v npm >/dev/null || die "Azurite needs Node.js and npm (apt-get install nodejs npm)"
  log "Azurite $AZURITE_VERSION: npm install (once per machine)"
  t=$SECONDS
  mkdir -p "$azurite_dir"
  npm install --silent --no-audit --no-fund --prefix "$azurite_dir" "azurite@$AZURITE_VERSION" >&2
  log "Azurite installed in $((SECONDS - t)) s"
fi

printf 'FAKE_GCS_BIN=%q\nAZURITE_BIN=%q\n' "$gcs_dir/bin/fake-gcs-server" "$azurite_dir/node_modules/.bin/azurite-blob"
