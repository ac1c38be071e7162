#!/usr/bin/env bash
# Stops the KubeRay lab and leaves nothing behind: the operator and control plane, every process
# of the node (containers first, found by their cgroups; then kubelet, containerd and its shims,
# kube-proxy and CoreDNS, found by the node's mount namespace), then the node's namespaces, which
# take its interfaces, iptables rules and mounts with them; then the pods' cgroups and the run
# directory. Checks each of those is gone, and fails saying what is left. Safe when nothing is up.
#
# usage: lab/kuberay/down.sh
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) == 0 ]] || rdie "down.sh runs as root"
NODE_PID="" OPERATOR_PID="" SCHED_PID="" CM_PID="" APISERVER_PID="" ETCD_PID=""
if [[ -f "$RSTATE" ]]; then
  # shellcheck disable=SC1090
  source "$RSTATE"
fi

# stop PID: TERM, then KILL after 10 s.
stop() {
  local pid=$1
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do pid_alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do pid_alive "$pid" || return 0; sleep 0.1; done
}

# Every process in one of the pods' cgroups (any controller: they are all nested the same way).
pod_pids() {
  local c
  for c in /sys/fs/cgroup/pids/$CGROUP_ROOT /sys/fs/cgroup/memory/$CGROUP_ROOT; do
    [[ -d $c ]] && find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u
}
# Every process that shares the node holder's mount namespace.
node_pids() {
  local holder=$1 ns p
  ns=$(readlink "/proc/$holder/ns/mnt" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/ns/mnt" 2>/dev/null)" == "$ns" && ${p#/proc/} != "$holder" ]] && echo "${p#/proc/}"
  done
}
kill_all() {
  local sig=$1
  shift
  (($#)) && kill "-$sig" "$@" 2>/dev/null || true
}

stop "$OPERATOR_PID"
# Containers first, so the kubelet does not start them again; then the node's own processes.
for sig in TERM KILL; do
  mapfile -t pids < <(pod_pids)
  kill_all "$sig" "${pids[@]}"
  for _ in $(seq 50); do [[ -z "$(pod_pids)" ]] && break; sleep 0.1; done
done
if pid_alive "$NODE_PID"; then
  for sig in TERM KILL; do
    mapfile -t pids < <(node_pids "$NODE_PID")
    kill_all "$sig" "${pids[@]}"
    for _ in $(seq 100); do [[ -z "$(node_pids "$NODE_PID")" ]] && break; sleep 0.1; done
  done
  stop "$NODE_PID"
fi
# Containers the kubelet started while it was being stopped.
mapfile -t pids < <(pod_pids)
kill_all KILL "${pids[@]}"
stop "$SCHED_PID"
stop "$CM_PID"
stop "$APISERVER_PID"
stop "$ETCD_PID"

# The pods' cgroups, deepest first (a cgroup directory goes only when it is empty).
for c in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do
  [[ -d $c ]] || continue
  for _ in $(seq 20); do
    find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ -d $c ]] || break
    sleep 0.25
  done
done

# What must be gone.
left=()
for p in "$NODE_PID" "$OPERATOR_PID" "$SCHED_PID" "$CM_PID" "$APISERVER_PID" "$ETCD_PID"; do
  pid_alive "$p" && left+=("process $p")
done
[[ -z "$(pod_pids)" ]] || left+=("pod processes $(pod_pids | tr '\n' ' ')")
ip link show "$HOST_VETH" >/dev/null 2>&1 && left+=("interface $HOST_VETH")
ip route show | grep -q "^$POD_CIDR " && left+=("route to $POD_CIDR")
for c in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do [[ -d $c ]] && left+=("cgroup $c"); done
grep -q "$RNODE" /proc/self/mountinfo && left+=("mounts under $RNODE")
iptables-save 2>/dev/null | grep -q -i -E 'KUBE-|CNI-' && left+=("iptables rules (KUBE-/CNI-) in the host")
if ((${#left[@]})); then
  rdie "left behind: ${left[*]}"
fi
rm -rf "$RRUN" "$RNODE" "$RKUBECONFIG"
rlog "KubeRay lab down"
