#!/usr/bin/env bash
# Start the Kubernetes lab: etcd + kube-apiserver 1.20.2 on 127.0.0.1 (no
# controller manager, no scheduler, no kubelet), with the lab's ray.io CRDs.
#
# usage: lab/kube/up.sh [--rbac] [--no-watch-cache] [--compaction DURATION]
#   --rbac              --authorization-mode=RBAC and the raytop-viewer
#                       ClusterRole bound to user `viewer` (default AlwaysAllow)
#   --no-watch-cache    --watch-cache=false: watches are served from etcd, so a
#                       watch from a compacted resourceVersion gets 410 Expired
#   --compaction D      --etcd-compaction-interval (default 30s)
# Environment: KUBE_LAB_API_PORT (16443), KUBE_LAB_ETCD_PORT (23790),
#   KUBE_LAB_ETCD_PEER_PORT (23800): starting points; the next free port is used.
#
# Writes .lab/kube/kubeconfig (contexts lab-admin [current], lab-viewer) and
# .lab/kube/run/lab.env (ports, pids, tokens). Refuses if the lab is up.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RBAC=0 WATCH_CACHE=true COMPACTION=30s
while (( $# )); do
  case $1 in
    --rbac) RBAC=1 ;;
    --no-watch-cache) WATCH_CACHE=false ;;
    --compaction) COMPACTION=${2:?--compaction needs a duration}; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) kdie "unknown argument: $1" ;;
  esac
  shift
done

START=$SECONDS
for b in kube-apiserver etcd; do
  [[ -x "$KBIN/$b" ]] || kdie "$KBIN/$b missing: run lab/kube/build.sh first"
done
for t in curl openssl python3 setsid; do
  command -v "$t" >/dev/null || kdie "$t is needed"
done

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# ---- refuse if up; clear a stale run ----------------------------------------
if [[ -f "$KSTATE" ]]; then
  # shellcheck disable=SC1090
  (source "$KSTATE"; ! pid_alive "${ETCD_PID:-}" && ! pid_alive "${APISERVER_PID:-}") \
    || kdie "kube lab is already up ($KSTATE); run lab/kube/down.sh first"
  klog "stale state from a previous run (processes gone): clearing it"
fi
rm -rf "$KRUN"
mkdir -p "$KRUN/pki"
mkdir -m 700 "$KRUN/etcd"            # etcd warns about anything looser
chmod 700 "$KRUN"

# ---- ports -----------------------------------------------------------------------
ETCD_PORT=$(free_port "${KUBE_LAB_ETCD_PORT:-23790}")
ETCD_PEER_PORT=$(free_port "${KUBE_LAB_ETCD_PEER_PORT:-23800}")
[[ "$ETCD_PEER_PORT" != "$ETCD_PORT" ]] || ETCD_PEER_PORT=$(free_port $((ETCD_PORT + 1)))
API_PORT=$(free_port "${KUBE_LAB_API_PORT:-16443}")
API_URL="https://127.0.0.1:$API_PORT"

# ---- credentials -------------------------------------------------------------------
# Fresh random tokens per run; tests read them from the kubeconfig or lab.env.
ADMIN_TOKEN="admin-$(openssl rand -hex 16)"
VIEWER_TOKEN="viewer-$(openssl rand -hex 16)"
# token,user,uid,"groups": admin is a cluster admin through system:masters;
# viewer has no extra groups (only system:authenticated, added by the server).
cat >"$KRUN/tokens.csv" <<EOF
$ADMIN_TOKEN,admin,uid-admin,"system:masters"
$VIEWER_TOKEN,viewer,uid-viewer
EOF
printf '%s\n' "$ADMIN_TOKEN" >"$KRUN/admin.token"
printf '%s\n' "$VIEWER_TOKEN" >"$KRUN/viewer.token"
# Service-account token signing keys (1.20 requires issuer + keys).
openssl genrsa -out "$KRUN/pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$KRUN/pki/sa.key" -pubout -out "$KRUN/pki/sa.pub" 2>/dev/null

# start NAME LOG CMD...: detached (own session, survives this script), pid to run/NAME.pid.
start() {
  local name=$1 log=$2
  shift 2
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KRUN/$name.pid" "$@" >"$log" 2>&1 </dev/null &
  for _ in $(seq 50); do [[ -s "$KRUN/$name.pid" ]] && break; sleep 0.1; done
  cat "$KRUN/$name.pid"
}

fail() {
  klog "$1; last log lines:"
  tail -n 20 "$2" >&2 || true
  "$KSCRIPTS/down.sh" >/dev/null 2>&1 || true
  exit 1
}

# Poll until CMD succeeds (up to T seconds), failing early if PID died.
wait_until() {
  local t=$1 pid=$2 log=$3 what=$4
  shift 4
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    pid_alive "$pid" || fail "$what: process exited" "$log"
    (( SECONDS < end )) || fail "$what: not ready after ${t}s" "$log"
    sleep 0.2
  done
}

# Write the state file early so down.sh can clean up whatever started.
write_state() {
  cat >"$KSTATE" <<EOF
API_URL=$API_URL
API_PORT=$API_PORT
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
ETCD_PID=${ETCD_PID:-}
APISERVER_PID=${APISERVER_PID:-}
AUTHZ=$([[ $RBAC == 1 ]] && echo RBAC || echo AlwaysAllow)
WATCH_CACHE=$WATCH_CACHE
COMPACTION=$COMPACTION
ADMIN_TOKEN=$ADMIN_TOKEN
VIEWER_TOKEN=$VIEWER_TOKEN
EOF
}

# ---- etcd ----------------------------------------------------------------------------
ETCD_PID=$(start etcd "$KRUN/etcd.log" "$KBIN/etcd" \
  --name lab --data-dir "$KRUN/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "lab=http://127.0.0.1:$ETCD_PEER_PORT" \
  --logger zap --log-outputs stderr --log-level warn)
write_state
wait_until 30 "$ETCD_PID" "$KRUN/etcd.log" "etcd" \
  sh -c "curl -sf http://127.0.0.1:$ETCD_PORT/health | grep -q '\"health\":\"true\"'"

# ---- kube-apiserver ---------------------------------------------------------------------
AUTHZ_MODE=AlwaysAllow
(( RBAC )) && AUTHZ_MODE=RBAC
# Every request's metadata (user, verb, resource, user agent) goes to audit.log: the tests read it
# to show what raytop sent (a --readonly run must send no write at all).
cat >"$KRUN/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
EOF
APISERVER_PID=$(start apiserver "$KRUN/apiserver.log" "$KBIN/kube-apiserver" \
  --audit-policy-file "$KRUN/audit-policy.yaml" \
  --audit-log-path "$KRUN/audit.log" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
  --secure-port "$API_PORT" \
  --cert-dir "$KRUN/pki" \
  --token-auth-file "$KRUN/tokens.csv" \
  --authorization-mode "$AUTHZ_MODE" \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$KRUN/pki/sa.pub" \
  --service-account-signing-key-file "$KRUN/pki/sa.key" \
  --service-cluster-ip-range 10.96.0.0/24 \
  --enable-admission-plugins NamespaceLifecycle \
  --disable-admission-plugins ServiceAccount \
  --allow-privileged=true \
  --etcd-compaction-interval "$COMPACTION" \
  --watch-cache="$WATCH_CACHE" \
  --endpoint-reconciler-type none \
  --profiling=false)
write_state
# The server writes its self-signed cert (apiserver.crt: cert + its CA) into
# --cert-dir before it listens; readiness is /readyz (all post-start hooks,
# including RBAC bootstrap roles, done).
CA="$KRUN/pki/apiserver.crt"
wait_until 60 "$APISERVER_PID" "$KRUN/apiserver.log" "kube-apiserver" \
  sh -c "[ -s '$CA' ] && curl -sf --cacert '$CA' -H 'Authorization: Bearer $ADMIN_TOKEN' $API_URL/readyz | grep -qx ok"
READY_S=$((SECONDS - START))

# ---- kubeconfig ------------------------------------------------------------------------
# CA embedded (certificate-authority-data) so it works from any directory.
CA_DATA=$(base64 -w0 "$CA")
umask 077
cat >"$KUBECONFIG_FILE.new" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: $API_URL
    certificate-authority-data: $CA_DATA
users:
- name: admin
  user:
    token: $ADMIN_TOKEN
- name: viewer
  user:
    token: $VIEWER_TOKEN
contexts:
- name: lab-admin
  context:
    cluster: lab
    user: admin
    namespace: $KNS
- name: lab-viewer
  context:
    cluster: lab
    user: viewer
    namespace: $KNS
current-context: lab-admin
EOF
mv "$KUBECONFIG_FILE.new" "$KUBECONFIG_FILE"
umask 022

# ---- CRDs (+ RBAC) -------------------------------------------------------------------------
"$KSCRIPTS/apply.sh" -q "$KSCRIPTS"/crds/*.yaml
(( RBAC )) && "$KSCRIPTS/apply.sh" -q "$KSCRIPTS/../kuberay/rbac/viewer.yaml"
export API_URL KRUN
"$(pick_python)" "$KSCRIPTS/kapi.py" wait-crds rayclusters.ray.io rayjobs.ray.io rayservices.ray.io \
  || fail "CRDs not Established" "$KRUN/apiserver.log"

printf 'kube lab up in %ss: %s (authz %s, watch-cache %s, compaction %s), etcd 127.0.0.1:%s, kubeconfig %s (contexts lab-admin, lab-viewer)\n' \
  "$((SECONDS - START))" "$API_URL" "$AUTHZ_MODE" "$WATCH_CACHE" "$COMPACTION" "$ETCD_PORT" "$KUBECONFIG_FILE"
klog "apiserver ready after ${READY_S}s"
