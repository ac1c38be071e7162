#!/bin/bash
# Runs containerd in a private mount+net namespace so nothing touches host /run, /var/lib/cni or the host netns.
# usage: start-containerd.sh CONFIG
set -e
mkdir -p /tmp/k19/{root,state,run,runc-state,varlibcni,cni/ipam,logs/pods/k19-pod,logs/pods/k19-pod2}
CFG=$1
exec unshare --mount --net --propagation private bash -c '
  set -e
  ip link set lo up
  mount -t tmpfs -o mode=755 k19run /run
  mkdir -p /run/containerd /run/netns
  mount --bind /tmp/k19/runc-state /run/containerd
  mount -t tmpfs -o mode=755 k19varlib /var/lib
  mkdir -p /var/lib/cni
  mount --bind /tmp/k19/varlibcni /var/lib/cni
  echo $$ > /tmp/k19/run/ns.pid
  exec nice -n 10 containerd --config '"$CFG"' --log-level debug
'
