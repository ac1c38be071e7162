#!/usr/bin/env python3
"""Lets the kube lab's API server reach the Ray lab's dashboard through its service proxy, as it
reaches a KubeRay head Service in a real cluster.

The API server refuses to proxy to loopback, and the Ray lab's dashboard listens on 127.0.0.1.
So this makes a network namespace of its own (`raytop-lab`) joined to the host by a veth pair on
198.18.77.0/30 (the benchmarking range: no real network uses it), and starts a small forwarder
whose listening socket lives inside that namespace (198.18.77.2:8265) while its outgoing sockets
stay in the host's (127.0.0.1:PORT). Then, in the kube lab, for the RayCluster `ray-lab` made by
pods-for-ray-lab.py:
  - the head Service `ray-lab-head-svc` with a `dashboard` port, and its Endpoints at the
    namespace address (there is no endpoints controller in the lab), naming the head pod, whose
    IP becomes that address: the proxy checks that an endpoint is its pod's IP;
  - with a token file (the Ray lab started with --auth): the Secret `ray-lab` with key
    `auth_token`, and `spec.authOptions.mode: token` on the RayCluster, as KubeRay v1.6+ has it.

With --prom PROM_PORT, the lab's Prometheus (lab/prom/up.sh) the same way, as a Prometheus
Operator install has it: namespace `monitoring`, pod `prometheus-k8s-0` and Service
`prometheus-k8s` with a `web` port (9090) and its Endpoints at the namespace address.

usage: dashboard-netns.py up DASHBOARD_PORT [TOKEN_FILE] [--prom PROM_PORT]
       dashboard-netns.py down
       dashboard-netns.py forward NSPORT:PORT...   (internal: the forwarder itself)
Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) for the namespace.
"""

import base64
import ctypes
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402

NETNS = "raytop-lab"
HOST_IF, NS_IF = "rtlab0", "rtlab1"
HOST_IP, NS_IP = "198.18.77.1", "198.18.77.2"
DASH_PORT = 8265
PROM_PORT = 9090
PROM_NS, PROM_SVC, PROM_POD = "monitoring", "prometheus-k8s", "prometheus-k8s-0"
NS, CLUSTER = "ray-lab", "ray-lab"
SERVICE = f"{CLUSTER}-head-svc"
PIDFILE = os.path.join(kapi.KRUN, "dashboard-forward.pid")
CLONE_NEWNET = 0x40000000


def log(msg):
    print(f"[kube-lab] {msg}", file=sys.stderr)


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def make_netns():
    if ip("netns", "list", check=False).stdout.split().count(NETNS) == 0:
        ip("netns", "add", NETNS)
    if ip("link", "show", HOST_IF, check=False).returncode != 0:
        ip("link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF)
        ip("link", "set", NS_IF, "netns", NETNS)
        ip("addr", "add", f"{HOST_IP}/30", "dev", HOST_IF)
        ip("link", "set", HOST_IF, "up")
        ip("-n", NETNS, "addr", "add", f"{NS_IP}/30", "dev", NS_IF)
        ip("-n", NETNS, "link", "set", NS_IF, "up")
        ip("-n", NETNS, "link", "set", "lo", "up")


def listen_in_netns(port):
    """A listening socket inside the lab namespace; the calling thread returns to its own."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    lab = os.open(f"/var/run/netns/{NETNS}", os.O_RDONLY)
    try:
        if libc.setns(lab, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns into the lab namespace")
        try:
            srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind((NS_IP, port))
            srv.listen(64)
        finally:
            if libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back home")
    finally:
        os.close(home)
        os.close(lab)
    return srv


def pump(a, b):
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    try:
        while True:
            for key, _ in sel.select():
                data = key.fileobj.recv(65536)
                if not data:
                    return
                key.data.sendall(data)
    except OSError:
        pass
    finally:
        a.close()
        b.close()


def accept_loop(srv, port):
    while True:
        conn, _ = srv.accept()
        try:
            up = socket.create_connection(("127.0.0.1", port), timeout=5)
            up.settimeout(None)
        except OSError:
            conn.close()
            continue
        threading.Thread(target=pump, args=(conn, up), daemon=True).start()


def forward(pairs):
    """Each NSPORT:PORT pair: NS_IP:NSPORT in the namespace to 127.0.0.1:PORT on the host."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    loops = []
    for pair in pairs:
        ns_port, port = (int(x) for x in pair.split(":"))
        srv = listen_in_netns(ns_port)
        loops.append(threading.Thread(target=accept_loop, args=(srv, port), daemon=True))
    for t in loops:
        t.start()
    for t in loops:
        t.join()


def head_pod(api):
    """The API server proxies only to an endpoint address that is the IP of the pod its targetRef
    names (isValidAddress in the service registry), so the head pod gets the namespace address."""
    pods = api.get(f"/api/v1/namespaces/{NS}/pods?labelSelector=ray.io/cluster%3D{CLUSTER},ray.io/node-type%3Dhead")
    if not pods["items"]:
        sys.exit(f"[kube-lab] ERROR: no head pod of {NS}/{CLUSTER}: run pods-for-ray-lab.py first")
    pod = pods["items"][0]
    pod["status"]["podIP"] = NS_IP
    pod["status"]["podIPs"] = [{"ip": NS_IP}]
    api.req("PUT", f"/api/v1/namespaces/{NS}/pods/{pod['metadata']['name']}/status", pod)
    return pod["metadata"]["name"]


def kube_objects(token_file):
    api = kapi.Api()
    head = head_pod(api)
    svc = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": SERVICE, "namespace": NS,
                     "labels": {"ray.io/cluster": CLUSTER, "ray.io/node-type": "head"}},
        # No selector: the lab has no endpoints controller, the Endpoints below are ours.
        "spec": {"ports": [{"name": "dashboard", "port": DASH_PORT, "targetPort": DASH_PORT}]},
    }
    eps = {
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": SERVICE, "namespace": NS},
        "subsets": [{"addresses": [{"ip": NS_IP, "targetRef": {"kind": "Pod", "namespace": NS, "name": head}}],
                     "ports": [{"name": "dashboard", "port": DASH_PORT}]}],
    }
    create_or_replace(api, f"/api/v1/namespaces/{NS}/services", SERVICE, svc)
    create_or_replace(api, f"/api/v1/namespaces/{NS}/endpoints", SERVICE, eps)
    if token_file:
        with open(token_file) as f:
            token = f.read().strip()
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": CLUSTER, "namespace": NS},
                  "data": {"auth_token": base64.b64encode(token.encode()).decode()}}
        try:
            api.req("POST", f"/api/v1/namespaces/{NS}/secrets", secret)
        except kapi.ApiError as e:
            if e.code != 409:
                raise
            api.req("PUT", f"/api/v1/namespaces/{NS}/secrets/{CLUSTER}", secret)
        api.req("PATCH", f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/{CLUSTER}",
                {"spec": {"authOptions": {"mode": "token"}}}, ctype="application/merge-patch+json")


def create_or_replace(api, path, name, body):
    """POST, or PUT over what is there (a lab brought up again); a Service keeps its clusterIP."""
    if not api.create(path, body):
        cur = api.get(f"{path}/{name}")
        body["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        if body.get("kind") == "Service":
            body["spec"]["clusterIP"] = cur["spec"].get("clusterIP")
        api.req("PUT", f"{path}/{name}", body)


def prometheus_objects():
    """Namespace, pod (whose IP is the namespace address), Service and Endpoints of the lab's
    Prometheus, named as a Prometheus Operator install names them."""
    api = kapi.Api()
    api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PROM_NS}})
    labels = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/part-of": "raytop-lab"}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": PROM_POD, "namespace": PROM_NS, "labels": labels},
           "spec": {"containers": [{"name": "prometheus", "image": "prometheus:2.42"}]}}
    api.create(f"/api/v1/namespaces/{PROM_NS}/pods", pod)
    pod = api.get(f"/api/v1/namespaces/{PROM_NS}/pods/{PROM_POD}")
    pod["status"].update({"phase": "Running", "podIP": NS_IP, "podIPs": [{"ip": NS_IP}]})
    api.req("PUT", f"/api/v1/namespaces/{PROM_NS}/pods/{PROM_POD}/status", pod)
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": PROM_SVC, "namespace": PROM_NS, "labels": labels},
           "spec": {"ports": [{"name": "web", "port": PROM_PORT, "targetPort": PROM_PORT}]}}
    eps = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": PROM_SVC, "namespace": PROM_NS},
           "subsets": [{"addresses": [{"ip": NS_IP, "targetRef": {"kind": "Pod", "namespace": PROM_NS, "name": PROM_POD}}],
                        "ports": [{"name": "web", "port": PROM_PORT}]}]}
    create_or_replace(api, f"/api/v1/namespaces/{PROM_NS}/services", PROM_SVC, svc)
    create_or_replace(api, f"/api/v1/namespaces/{PROM_NS}/endpoints", PROM_SVC, eps)


def wait_listening(port, proc, log_path):
    deadline = time.time() + 10
    while True:
        probe = ip("netns", "exec", NETNS, "python3", "-c",
                   f"import socket; socket.create_connection(('{NS_IP}', {port}), timeout=1)", check=False)
        if probe.returncode == 0:
            return
        if time.time() > deadline or proc.poll() is not None:
            sys.exit(f"[kube-lab] ERROR: forwarder not listening on {NS_IP}:{port}; see {log_path}")
        time.sleep(0.2)


def up(port, token_file, prom_port):
    make_netns()
    down_forwarder()
    log_path = os.path.join(kapi.KRUN, "dashboard-forward.log")
    pairs = [f"{DASH_PORT}:{port}"] + ([f"{PROM_PORT}:{prom_port}"] if prom_port else [])
    with open(log_path, "ab") as out:
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "forward", *pairs],
                                stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
    with open(PIDFILE, "w") as f:
        f.write(str(proc.pid))
    # Ready when the dashboard (and Prometheus) answer from inside the namespace.
    wait_listening(DASH_PORT, proc, log_path)
    kube_objects(token_file)
    auth = "token from Secret ray-lab/ray-lab" if token_file else "no token auth"
    log(f"dashboard 127.0.0.1:{port} reachable as {NS_IP}:{DASH_PORT} in netns {NETNS}; "
        f"Service {NS}/{SERVICE} points there ({auth})")
    if prom_port:
        wait_listening(PROM_PORT, proc, log_path)
        prometheus_objects()
        log(f"Prometheus 127.0.0.1:{prom_port} reachable as {NS_IP}:{PROM_PORT}; "
            f"Service {PROM_NS}/{PROM_SVC}:web points there")


def down_forwarder():
    try:
        with open(PIDFILE) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    try:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        if b"dashboard-netns.py" in cmdline:
            os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
    os.remove(PIDFILE)


def down():
    if os.path.isdir(kapi.KRUN):
        down_forwarder()
    if ip("netns", "list", check=False).stdout.split().count(NETNS):
        ip("netns", "del", NETNS)  # takes the veth pair with it
    ip("link", "del", HOST_IF, check=False)


def main():
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "up":
        prom_port = None
        if "--prom" in args:
            i = args.index("--prom")
            prom_port = int(args[i + 1])
            del args[i:i + 2]
        token_file = args[2] if len(args) > 2 and os.path.exists(args[2]) else None
        up(int(args[1]), token_file, prom_port)
    elif args == ["down"]:
        down()
    elif len(args) >= 2 and args[0] == "forward":
        forward(args[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
