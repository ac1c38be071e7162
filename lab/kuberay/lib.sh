# shellcheck shell=bash
# Shared settings for the real-KubeRay lab (lab/kuberay). Sourced, never run.
# One "up" lives under $RLAB (the repo's .lab/kuberay/, git-ignored); builds are cached outside
# the checkout ($RCACHE), each keyed by its version or recipe, so a new clone builds nothing.
#
# The node: kubelet, containerd, kube-proxy and CoreDNS run in one private mount + network
# namespace ("the node"), joined to the host by a veth pair, as a VM's node would be by its NIC.
# The control plane (etcd, kube-apiserver, controller-manager, scheduler, the operator) runs on
# the host. So every interface, iptables rule and mount the node makes goes when the node's
# processes end, and the host keeps only one route, which goes with the veth.

# shellcheck disable=SC2034  # variables are used by the scripts that source us

RROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RSCRIPTS="$RROOT/lab/kuberay"
RLAB="$RROOT/.lab/kuberay"
RCACHE="${RAYTOP_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/raytop-lab}/kuberay"
RRUN="$RLAB/run"                  # pki, tokens, configs, logs, pids of one "up"
RNODE="$RLAB/node"                # the node's disk: containerd's root, kubelet's root, pod logs
RSTATE="$RRUN/lab.env"            # written by up.sh; its presence means "up"
RKUBECONFIG="$RLAB/kubeconfig"
RNS="ray-lab"

KUBERAY_VERSION="${KUBERAY_VERSION:-v1.5.0}"
K8S_VERSION="${K8S_VERSION:-v1.34.4}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"

# Addresses. 198.18.0.0/15 is set aside for benchmarks (RFC 2544), so it clashes with nothing
# real; lab/kube's dashboard namespace uses 198.18.77.0/30.
HOST_IP=198.18.80.1               # the host's end of the veth: the API server listens here
NODE_IP=198.18.80.2               # the node's InternalIP: kubelet, CoreDNS
POD_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
NODE_NAME=raytop-node
CGROUP_ROOT=raytop-lab            # every pod's cgroup is under /sys/fs/cgroup/<controller>/raytop-lab
HOST_VETH=rtlab-host
NODE_VETH=rtlab-node
BRIDGE=rtlab0

rlog() { printf '[kuberay-lab] %s\n' "$*" >&2; }
rdie() { printf '[kuberay-lab] ERROR: %s\n' "$*" >&2; exit 1; }

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# Run a command inside the node (its mount and network namespaces), given the holder's pid.
in_node() {
  local holder
  holder=$(cat "$RRUN/node.pid")
  nsenter -t "$holder" -m -n -- "$@"
}

# Is TCP port $1 free on 127.0.0.1?
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p=$1
  while :; do
    case $p in 6379|8000|8265|10001|16443) ;; *) if port_free "$p"; then echo "$p"; return; fi ;; esac
    p=$((p + 1))
    (( p < $1 + 200 )) || rdie "no free port near $1"
  done
}
