#!/usr/bin/env bash
# Fuzzes every parser target of tests/fuzz.rs for a fixed budget each (seconds, default 30),
# one target at a time, and prints each target's executions, corpus size and peak RSS.
#   lab/fuzz.sh            # 30 s per target
#   lab/fuzz.sh 600        # ten minutes per target, by hand
#   FUZZ_SEED=123 lab/fuzz.sh 5   # replay a run
# A failing input is saved under tests/fuzz-corpus/<target>/crash-<hash> and the run fails.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
seconds=${1:-30}
log "fuzzing each target for ${seconds}s"
FUZZ_SECONDS="$seconds" cargo nextest run --no-fail-fast --no-tests=fail --test fuzz --test-threads 1 \
  --no-capture 2>&1 | grep -E "^figure: fuzz|PASS|FAIL|panicked|Summary"
