#!/bin/bash
# Full demo: start containerd (private mount+net ns), import images, run pod + container, show logs.
set -e
cd /tmp/k19
(setsid working/start-containerd.sh /tmp/k19/working/config.toml > logs/containerd.log 2>&1 &)
sleep 3
A=/tmp/k19/run/containerd.sock
ctr -a $A -n k8s.io images import --all-platforms img/pause.tar
ctr -a $A -n k8s.io images import --all-platforms img/busybox.tar
NS=$(cat run/ns.pid)
# run crictl inside containerd's netns so exec/attach (stream server on 127.0.0.1) also work
C="nsenter -t $NS -n bin/crictl --config working/crictl.yaml"
P=$($C runp working/pod.json)
CID=$($C create $P working/container.json working/pod.json)
$C start $CID
sleep 2
$C pods; $C ps; $C logs $CID
