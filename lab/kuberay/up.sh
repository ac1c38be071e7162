#!/usr/bin/env bash
# Brings up a real single-node Kubernetes with the real KubeRay operator:
#   host:  etcd, kube-apiserver (on $HOST_IP), kube-controller-manager, kube-scheduler, ray-operator
#   node:  containerd (+ runc, CNI bridge), kubelet, kube-proxy, CoreDNS, in their own mount and
#          network namespace joined to the host by a veth pair (see lib.sh)
# Writes the admin kubeconfig to .lab/kuberay/kubeconfig (contexts lab-admin [current],
# lab-viewer) and .lab/kuberay/run/lab.env. Builds what is missing first (deps.sh, once per
# machine). Refuses if the lab is up. Runs as root (namespaces, mounts, cgroups).
#
# usage: lab/kuberay/up.sh [--no-operator]
#   --no-operator   everything but the operator (for a test that starts its own)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OPERATOR=1
for a in "$@"; do
  case $a in
    --no-operator) OPERATOR=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) rdie "unknown argument: $a" ;;
  esac
done
[[ $(id -u) == 0 ]] || rdie "up.sh runs as root (namespaces, mounts, cgroups)"
START=$SECONDS

if [[ -f "$RSTATE" ]]; then
  # shellcheck disable=SC1090
  (source "$RSTATE"; ! pid_alive "${NODE_PID:-}" && ! pid_alive "${APISERVER_PID:-}") \
    || rdie "the KubeRay lab is already up ($RSTATE): run lab/kuberay/down.sh first"
  rlog "stale state from an earlier run: cleaning it first"
  "$RSCRIPTS/down.sh"
fi

eval "$("$RSCRIPTS/deps.sh")"
BUILT_S=$((SECONDS - START))
KUBECTL="$K8S_BIN/kubectl"

rm -rf "$RRUN" "$RNODE"
mkdir -p "$RRUN/pki" "$RRUN/cni/net.d" "$RNODE"/{containerd,kubelet,log,cni,varlib-cni}
mkdir -m 700 "$RRUN/etcd"
chmod 700 "$RRUN"

# start NAME CMD...: detached in its own session; pid in run/NAME.pid, output in run/NAME.log.
start() {
  local name=$1
  shift
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RRUN/$name.pid" "$@" >"$RRUN/$name.log" 2>&1 </dev/null &
  for _ in $(seq 50); do [[ -s "$RRUN/$name.pid" ]] && break; sleep 0.1; done
  cat "$RRUN/$name.pid"
}
fail() {
  rlog "$1; last lines of $2:"
  tail -n 25 "$RRUN/$2.log" >&2 || true
  "$RSCRIPTS/down.sh" >&2 || true
  exit 1
}
# wait_up SECONDS NAME WHAT CMD...: poll CMD; fail early if NAME's process died.
wait_up() {
  local t=$1 name=$2 what=$3
  shift 3
  local end=$((SECONDS + t)) pid
  pid=$(cat "$RRUN/$name.pid")
  until "$@" >/dev/null 2>&1; do
    pid_alive "$pid" || fail "$what: $name exited" "$name"
    ((SECONDS < end)) || fail "$what: not after ${t}s" "$name"
    sleep 0.3
  done
  rlog "$what after $((SECONDS - START - BUILT_S)) s"
}
state() { printf '%s=%q\n' "$1" "$2" >>"$RSTATE"; }

# ---- the node's namespaces and its link to the host --------------------------------------------
# The holder keeps the namespaces alive; every node component joins them with nsenter. Inside,
# /run is the node's own (containerd 1.6 keeps shim sockets under /run/containerd whatever its
# config says), and /var/log and /var/lib/cni are the node's directories under .lab.
cat >"$RRUN/node-holder.sh" <<EOF
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=755 rtlab-run /run
mkdir -p /run/containerd /run/netns
mount --bind "$RNODE/log" /var/log
mount -t tmpfs -o mode=755 rtlab-varlib /var/lib
mkdir -p /var/lib/cni
mount --bind "$RNODE/varlib-cni" /var/lib/cni
# kubelet wants its root to propagate mounts to the containers it runs.
mount --bind "$RNODE/kubelet" "$RNODE/kubelet"
mount --make-rshared "$RNODE/kubelet"
ip link set lo up
echo ready >"$RRUN/node.ready"
exec sleep infinity
EOF
: >"$RSTATE"
NODE_PID=$(start node unshare --mount --net --propagation private bash "$RRUN/node-holder.sh")
state NODE_PID "$NODE_PID"
for _ in $(seq 50); do [[ -f "$RRUN/node.ready" ]] && break; sleep 0.1; done
[[ -f "$RRUN/node.ready" ]] || fail "the node's namespaces did not come up" node

ip link add "$HOST_VETH" type veth peer name "$NODE_VETH" netns "/proc/$NODE_PID/ns/net"
ip addr add "$HOST_IP/30" dev "$HOST_VETH"
ip link set "$HOST_VETH" up
ip route add "$POD_CIDR" via "$NODE_IP" dev "$HOST_VETH"
in_node ip addr add "$NODE_IP/30" dev "$NODE_VETH"
in_node ip link set "$NODE_VETH" up
in_node ip route add default via "$HOST_IP"
# Forwarding and bridge netfilter for the node only (both are per network namespace): pods reach
# Services through kube-proxy's rules, and each other across the bridge.
in_node sysctl -qw net.ipv4.ip_forward=1
in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null \
  || rlog "bridge netfilter is not available: pod-to-Service traffic on the bridge is masqueraded instead"

# ---- credentials --------------------------------------------------------------------------------
ADMIN_TOKEN="admin-$(openssl rand -hex 16)"
VIEWER_TOKEN="viewer-$(openssl rand -hex 16)"
cat >"$RRUN/tokens.csv" <<EOF
$ADMIN_TOKEN,admin,uid-admin,"system:masters"
$VIEWER_TOKEN,viewer,uid-viewer
EOF
state ADMIN_TOKEN "$ADMIN_TOKEN"
state VIEWER_TOKEN "$VIEWER_TOKEN"
openssl genrsa -out "$RRUN/pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$RRUN/pki/sa.key" -pubout -out "$RRUN/pki/sa.pub" 2>/dev/null

# ---- etcd and the API server ------------------------------------------------------------------------
ETCD_PORT=$(free_port 23890)
ETCD_PEER_PORT=$(free_port $((ETCD_PORT + 1)))
API_PORT=$(free_port 16543)
API_URL="https://$HOST_IP:$API_PORT"
state API_URL "$API_URL"
state API_PORT "$API_PORT"
ETCD_PID=$(start etcd "$ETCD_BIN" --name lab --data-dir "$RRUN/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "lab=http://127.0.0.1:$ETCD_PEER_PORT" --logger zap --log-outputs stderr --log-level warn)
state ETCD_PID "$ETCD_PID"
wait_up 30 etcd "etcd healthy" sh -c "curl -sf http://127.0.0.1:$ETCD_PORT/health | grep -q true"

# Every request's metadata goes to audit.log: tests read it to see what raytop (or the operator,
# or the autoscaler) sent.
cat >"$RRUN/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy", "system:kube-scheduler", "system:kube-controller-manager"]
  verbs: ["get", "list", "watch"]
- level: Metadata
EOF
APISERVER_PID=$(start apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address "$HOST_IP" --advertise-address "$HOST_IP" --secure-port "$API_PORT" \
  --cert-dir "$RRUN/pki" \
  --token-auth-file "$RRUN/tokens.csv" \
  --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$RRUN/pki/sa.pub" \
  --service-account-signing-key-file "$RRUN/pki/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --allow-privileged=true \
  --kubelet-preferred-address-types InternalIP \
  --audit-policy-file "$RRUN/audit-policy.yaml" --audit-log-path "$RRUN/audit.log" \
  --profiling=false)
state APISERVER_PID "$APISERVER_PID"
CA="$RRUN/pki/apiserver.crt"
wait_up 90 apiserver "API server ready" \
  sh -c "[ -s '$CA' ] && curl -sf --cacert '$CA' -H 'Authorization: Bearer $ADMIN_TOKEN' $API_URL/readyz | grep -qx ok"

umask 077
cat >"$RKUBECONFIG.new" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kuberay-lab
  cluster:
    server: $API_URL
    certificate-authority-data: $(base64 -w0 "$CA")
users:
- name: admin
  user:
    token: $ADMIN_TOKEN
- name: viewer
  user:
    token: $VIEWER_TOKEN
contexts:
- name: lab-admin
  context: {cluster: kuberay-lab, user: admin, namespace: $RNS}
- name: lab-viewer
  context: {cluster: kuberay-lab, user: viewer, namespace: $RNS}
current-context: lab-admin
EOF
mv "$RKUBECONFIG.new" "$RKUBECONFIG"
umask 022
kc() { "$KUBECTL" --kubeconfig "$RKUBECONFIG" "$@"; }

# ---- controller-manager and scheduler -------------------------------------------------------------
CM_PORT=$(free_port 10357)
CM_PID=$(start controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig "$RKUBECONFIG" --authentication-kubeconfig "$RKUBECONFIG" --authorization-kubeconfig "$RKUBECONFIG" \
  --bind-address 127.0.0.1 --secure-port "$CM_PORT" --leader-elect=false \
  --service-account-private-key-file "$RRUN/pki/sa.key" --root-ca-file "$CA" \
  --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR" --allocate-node-cidrs=false \
  --use-service-account-credentials=false --profiling=false)
state CM_PID "$CM_PID"
SCHED_PORT=$(free_port 10359)
SCHED_PID=$(start scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig "$RKUBECONFIG" --authentication-kubeconfig "$RKUBECONFIG" --authorization-kubeconfig "$RKUBECONFIG" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --profiling=false)
state SCHED_PID "$SCHED_PID"

# ---- the node: containerd, images, kubelet, kube-proxy, CoreDNS --------------------------------------
cat >"$RRUN/cni/net.d/10-rtlab.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "rtlab",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$RNODE/cni", "ranges": [[{"subnet": "$POD_CIDR"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
PAUSE_REF=docker.io/raytop-lab/pause:3.10
# restrict_oom_score_adj: the CRI asks -998 for every sandbox, which this machine's kernel refuses
# (no CAP_SYS_RESOURCE in any bounding set; notes/cri-sandbox.md); clamped to containerd's own.
cat >"$RRUN/containerd.toml" <<EOF
version = 2
root = "$RNODE/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_REF"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RRUN/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
EOF
CONTAINERD_PID=$(start containerd nsenter -t "$NODE_PID" -m -n -- containerd --config "$RRUN/containerd.toml")
state CONTAINERD_PID "$CONTAINERD_PID"
ctr_node() { in_node ctr -a /run/containerd/containerd.sock -n k8s.io "$@"; }
wait_up 30 containerd "containerd serving" ctr_node version
t=$SECONDS
ctr_node images import --index-name "$PAUSE_REF" "$PAUSE_IMAGE" >/dev/null
ctr_node images import --index-name docker.io/rayproject/ray:2.60.0 "$RAY_IMAGE" >/dev/null
# ctr also names each image after the tag inside its archive (import-<date>:NAME), and the CRI
# then looks the sandbox image up by that name and fails: keep only the names given above.
for extra in $(ctr_node images ls -q | grep '^import-' || true); do ctr_node images rm "$extra" >/dev/null; done
# The CRI keeps the names it saw at import in its own cache; a restart reads them afresh.
kill -TERM "$CONTAINERD_PID"
for _ in $(seq 100); do pid_alive "$CONTAINERD_PID" || break; sleep 0.1; done
CONTAINERD_PID=$(start containerd nsenter -t "$NODE_PID" -m -n -- containerd --config "$RRUN/containerd.toml")
state CONTAINERD_PID "$CONTAINERD_PID"
wait_up 30 containerd "containerd serving again" ctr_node version
rlog "images imported in $((SECONDS - t)) s"

# Pod cgroups live under one root of ours in every controller, so down.sh can find them all.
for c in /sys/fs/cgroup/*/; do
  [[ -f "$c/cgroup.procs" && ! -L "${c%/}" && $c != */unified/ ]] && mkdir -p "$c$CGROUP_ROOT"
done
echo "nameserver $NODE_IP" >"$RRUN/resolv.conf"   # kubelet writes the pods' own; this is the base
cat >"$RRUN/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0              # its default -999 is refused here, as the sandbox's was
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
clusterDomain: cluster.local
clusterDNS: [$NODE_IP]
resolvConf: $RRUN/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%}
syncFrequency: 10s
EOF
KUBELET_PID=$(start kubelet nsenter -t "$NODE_PID" -m -n -- "$K8S_BIN/kubelet" \
  --config "$RRUN/kubelet.yaml" --kubeconfig "$RKUBECONFIG" --root-dir "$RNODE/kubelet" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP")
state KUBELET_PID "$KUBELET_PID"
wait_up 90 kubelet "node $NODE_NAME Ready" \
  sh -c "'$KUBECTL' --kubeconfig '$RKUBECONFIG' get node $NODE_NAME -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"

cat >"$RRUN/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $RKUBECONFIG}
mode: iptables
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
iptables: {masqueradeAll: true}
# The node is a network namespace: the host's conntrack table size is not its to set.
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
PROXY_PID=$(start kube-proxy nsenter -t "$NODE_PID" -m -n -- "$K8S_BIN/kube-proxy" --config "$RRUN/kube-proxy.yaml")
state PROXY_PID "$PROXY_PID"

cat >"$RRUN/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $RKUBECONFIG lab-admin
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
EOF
DNS_PID=$(start coredns nsenter -t "$NODE_PID" -m -n -- "$COREDNS_BIN" -conf "$RRUN/Corefile")
state DNS_PID "$DNS_PID"

# ---- the namespace, the CRDs and the operator ----------------------------------------------------
kc create namespace "$RNS" >/dev/null
kc apply --server-side -f "$OPERATOR_DIR/config/crd/bases/" >/dev/null
kc wait --for condition=established --timeout=60s \
  crd/rayclusters.ray.io crd/rayjobs.ray.io crd/rayservices.ray.io >/dev/null
wait_up 60 controller-manager "default service account in $RNS" kc -n "$RNS" get serviceaccount default
if ((OPERATOR)); then
  OP_METRICS=$(free_port 18180)
  OP_HEALTH=$(free_port $((OP_METRICS + 1)))
  # As KubeRay's development guide runs it: a process with a kubeconfig, outside the cluster, so
  # it reaches each head's dashboard through the API server's service proxy.
  OPERATOR_PID=$(start operator "$OPERATOR_DIR/bin/ray-operator" -kubeconfig "$RKUBECONFIG" \
    -enable-leader-election=false -use-kubernetes-proxy \
    -metrics-addr "127.0.0.1:$OP_METRICS" -health-probe-bind-address "127.0.0.1:$OP_HEALTH")
  state OPERATOR_PID "$OPERATOR_PID"
  wait_up 60 operator "KubeRay operator $KUBERAY_VERSION ready" curl -sf "http://127.0.0.1:$OP_HEALTH/readyz"
fi
printf 'KubeRay lab up in %s s (%s s building): %s, node %s (%s), kubeconfig %s\n' \
  "$((SECONDS - START))" "$BUILT_S" "$API_URL" "$NODE_NAME" "$NODE_IP" "$RKUBECONFIG"
