#!/bin/bash
cd /tmp/k19
NS=$(cat run/ns.pid)
C="nsenter -t $NS -n bin/crictl --config working/crictl.yaml"
$C ps -q | xargs -r $C stop -t 2; $C pods -q | xargs -r $C stopp; $C pods -q | xargs -r $C rmp
nsenter -t $NS -n sh -c 'ip link del k19br0 2>/dev/null; iptables -t nat -F; iptables -t nat -X; iptables -F; iptables -X'
kill $NS; sleep 2
for d in $(find /sys/fs/cgroup/*/k19pods -depth -type d 2>/dev/null); do rmdir $d; done
pgrep -a containerd; mount | grep k19; ip -br link | grep k19; iptables-save | grep -ci cni
