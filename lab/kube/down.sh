#!/usr/bin/env bash
# Stop the kube lab (kube-apiserver, then etcd) and remove its run directory
# (etcd data, certs, tokens, logs) and the kubeconfig. Safe when nothing is up.
# Only the processes whose pids up.sh recorded are signalled.
#
# usage: lab/kube/down.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Is PID alive and still running the binary we started (guards pid reuse)?
ours() {
  local pid=$1 bin=$2
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$KBIN/$bin" ]]
}

stop() {
  local name=$1 bin=$2 pid
  pid=$(cat "$KRUN/$name.pid" 2>/dev/null || true)
  ours "$pid" "$bin" || return 0
  kill -TERM "$pid"
  for _ in $(seq 100); do ours "$pid" "$bin" || return 0; sleep 0.1; done
  klog "$name ($pid) ignored SIGTERM for 10s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do ours "$pid" "$bin" || return 0; sleep 0.1; done
  kdie "$name ($pid) is still running"
}

if [[ -d "$KRUN" ]]; then
  stop apiserver kube-apiserver   # first: it holds etcd connections
  stop etcd etcd
fi
rm -rf "$KRUN" "$KUBECONFIG_FILE"

# Verify: no process runs our binaries any more.
left=$(for p in /proc/[0-9]*; do
  exe=$(readlink "$p/exe" 2>/dev/null) || continue
  case $exe in "$KBIN/kube-apiserver"|"$KBIN/etcd") echo "${p#/proc/} ($exe)" ;; esac
done)
[[ -z "$left" ]] || kdie "lab processes still running: $left"
klog "kube lab down"
