#!/usr/bin/env python3
"""Small client for the kube lab's API server (stdlib only; PyYAML optional).

There is no KubeRay operator, controller manager, scheduler or kubelet in the
lab, so this plays their parts where tests need it:

  apply FILE...                 create-or-replace objects from YAML/JSON files
  wait-crds NAME...             wait until CRDs are Established
  fake-pods CLUSTER [opts]      create the pods/head service KubeRay would create,
                                and set pod status as a kubelet would
  fake-nodes [--count N --gpus G]
                                register Nodes (nvidia.com/gpu capacity) as kubelets would
  set-status CLUSTER            set RayCluster /status as KubeRay would
  set-status --rayjob NAME      set a RayJob /status (RUNNING/Running)
  set-status --rayservice NAME  set a RayService /status (Ready, apps RUNNING)

Connection details come from .lab/kube/run/lab.env (written by up.sh), or $KUBE_LAB_RUN/lab.env.
Requests go through the admin token unless KUBE_LAB_USER=viewer.
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import re
import ssl
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# KUBE_LAB_RUN: another lab's run dir with the same lab.env and pki/apiserver.crt (the KubeRay
# lab's .lab/kuberay/run), for the scripts that only need an API server.
KRUN = os.environ.get("KUBE_LAB_RUN") or os.path.join(ROOT, ".lab", "kube", "run")
DEFAULT_NS = "ray-lab"


def die(msg):
    print(f"[kube-lab] ERROR: {msg}", file=sys.stderr)
    sys.exit(1)


def load_env():
    path = os.path.join(KRUN, "lab.env")
    if not os.path.exists(path):
        die(f"kube lab is not up (no {path}): run lab/kube/up.sh")
    env = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k:
                env[k] = v
    return env


class ApiError(Exception):
    def __init__(self, code, body):
        super().__init__(f"HTTP {code}: {body}")
        self.code = code
        self.body = body

    @property
    def reason(self):
        try:
            return json.loads(self.body).get("reason", "")
        except ValueError:
            return ""


class Api:
    def __init__(self):
        env = load_env()
        self.base = env["API_URL"]
        user = os.environ.get("KUBE_LAB_USER", "admin")
        self.token = env["VIEWER_TOKEN" if user == "viewer" else "ADMIN_TOKEN"]
        self.ctx = ssl.create_default_context(cafile=os.path.join(KRUN, "pki", "apiserver.crt"))
        self._discovery = {}

    def req(self, method, path, body=None, ctype="application/json"):
        data = None if body is None else json.dumps(body).encode()
        r = urllib.request.Request(self.base + path, data=data, method=method)
        r.add_header("Authorization", f"Bearer {self.token}")
        r.add_header("Accept", "application/json")
        if data is not None:
            r.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(r, context=self.ctx, timeout=30) as resp:
                raw = resp.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read().decode(errors="replace")) from None

    def get(self, path):
        return self.req("GET", path)

    def create(self, path, body):
        """POST; an object of that name already there (409) is left as it is. True if created."""
        try:
            self.req("POST", path, body)
            return True
        except ApiError as e:
            if e.code != 409:
                raise
            return False

    def merge_patch(self, path, body):
        return self.req("PATCH", path, body, "application/merge-patch+json")

    # -- discovery: apiVersion + kind -> (plural, namespaced) -----------------
    def resource_for(self, api_version, kind):
        if api_version not in self._discovery:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            self._discovery[api_version] = self.get(path)["resources"]
        for r in self._discovery[api_version]:
            if r["kind"] == kind and "/" not in r["name"]:
                return r["name"], r["namespaced"]
        raise ApiError(404, f"no resource for {api_version} {kind}")

    def path_for(self, obj, ns_default=DEFAULT_NS, name=True):
        av, kind = obj["apiVersion"], obj["kind"]
        plural, namespaced = self.resource_for(av, kind)
        base = "/api/v1" if av == "v1" else f"/apis/{av}"
        if namespaced:
            ns = obj.get("metadata", {}).get("namespace") or ns_default
            base += f"/namespaces/{ns}"
        base += f"/{plural}"
        if name:
            base += "/" + obj["metadata"]["name"]
        return base


# --------------------------------------------------------------------------
# apply
# --------------------------------------------------------------------------

def load_docs(path):
    with open(path) as f:
        text = f.read()
    if path.endswith(".json"):
        doc = json.loads(text)
        docs = doc if isinstance(doc, list) else [doc]
    else:
        try:
            import yaml  # noqa: PLC0415 (optional dependency)
        except ImportError:
            die(f"{path}: PyYAML is not available to this python ({sys.executable}); "
                "use .lab/venv/bin/python, kubectl, or JSON files")
        docs = [d for d in yaml.safe_load_all(text) if d]
    out = []
    for d in docs:
        if d.get("kind", "").endswith("List") and "items" in d:
            out.extend(d["items"])
        else:
            out.append(d)
    return out


def cmd_apply(api, args):
    for path in args.files:
        for obj in load_docs(path):
            if args.namespace and not obj.get("metadata", {}).get("namespace"):
                obj.setdefault("metadata", {})["namespace"] = args.namespace
            what = f"{obj['kind'].lower()}/{obj['metadata']['name']}"
            try:
                api.req("POST", api.path_for(obj, name=False), obj)
                verb = "created"
            except ApiError as e:
                if e.code != 409:
                    die(f"{path}: {what}: {e}")
                # Exists: replace it (PUT needs the current resourceVersion).
                item = api.path_for(obj)
                cur = api.get(item)
                obj["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
                new = api.req("PUT", item, obj)
                same = new["metadata"]["resourceVersion"] == cur["metadata"]["resourceVersion"]
                verb = "unchanged" if same else "replaced"
            if not args.quiet:
                print(f"{what} {verb}")


def cmd_wait_crds(api, args):
    deadline = time.time() + args.timeout
    pending = list(args.names)
    while pending:
        name = pending[0]
        try:
            crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conds = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
            if conds.get("Established") == "True":
                pending.pop(0)
                continue
        except ApiError as e:
            if e.code != 404:
                raise
        if time.time() > deadline:
            die(f"CRD {name} not Established after {args.timeout}s")
        time.sleep(0.2)


# --------------------------------------------------------------------------
# quantities (just enough for Ray pod templates)
# --------------------------------------------------------------------------

_SUFFIX = {"": 1, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}


def qty(v):
    if v is None:
        return 0.0
    if isinstance(v, (int, float)):
        return float(v)
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(v).strip())
    if not m or m.group(2) not in _SUFFIX:
        die(f"cannot parse quantity {v!r}")
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def fmt_cpu(x):
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else f"{int(round(x * 1000))}m"


def fmt_mem(x):
    x = int(round(x))
    for suf in ("Ti", "Gi", "Mi", "Ki"):
        if x and x % _SUFFIX[suf] == 0:
            return f"{x // _SUFFIX[suf]}{suf}"
    return str(x)


def container_res(container, name):
    """Requests, limits as fallback (KubeRay's CalculatePodResource)."""
    res = container.get("resources", {})
    return qty(res.get("requests", {}).get(name, res.get("limits", {}).get(name)))


def pod_totals(template):
    cpu = mem = gpu = 0.0
    for c in template.get("spec", {}).get("containers", []):
        cpu += container_res(c, "cpu")
        mem += container_res(c, "memory")
        keys = set(c.get("resources", {}).get("requests", {})) | set(c.get("resources", {}).get("limits", {}))
        for k in keys:
            if k.endswith("gpu") or k.startswith("nvidia.com/mig-"):
                gpu += container_res(c, k)
    return cpu, mem, gpu


def group_pods(g):
    """Desired pods of a worker group: clamp(replicas, min, max) * numOfHosts."""
    if g.get("suspend"):
        return 0
    r = g.get("replicas", 0) or 0
    lo, hi = g.get("minReplicas", 0) or 0, g.get("maxReplicas", 2147483647)
    return max(lo, min(hi, r)) * (g.get("numOfHosts", 1) or 1)


# --------------------------------------------------------------------------
# fake-pods: what KubeRay (pods, head service) and the kubelet (status) do
# --------------------------------------------------------------------------

def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rand5():
    # Like the API server's generateName suffix alphabet (no vowels).
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


def ray_labels(cluster, node_type, group):
    return {
        "ray.io/cluster": cluster,
        "ray.io/node-type": node_type,
        "ray.io/group": group,
        "ray.io/is-ray-node": "yes",
        "ray.io/identifier": f"{cluster}-{node_type}",
        "app.kubernetes.io/name": "kuberay",
        "app.kubernetes.io/created-by": "kuberay-operator",
    }


def build_pod(rc, node_type, group, template, name):
    cluster = rc["metadata"]["name"]
    meta = template.get("metadata", {})
    labels = dict(meta.get("labels", {}))
    labels.update(ray_labels(cluster, node_type, group))  # KubeRay's win
    spec = json.loads(json.dumps(template.get("spec", {})))
    for i, c in enumerate(spec.get("containers", [])):
        if i == 0:  # the Ray container: KubeRay injects these
            env = c.setdefault("env", [])
            env += [
                {"name": "RAY_CLOUD_INSTANCE_ID",
                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "RAY_NODE_TYPE_NAME", "value": group},
                {"name": "RAY_CLUSTER_NAME",
                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['ray.io/cluster']"}}},
            ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": rc["metadata"]["namespace"],
            "labels": labels,
            "annotations": dict(meta.get("annotations", {})),
            "ownerReferences": [{
                "apiVersion": "ray.io/v1", "kind": "RayCluster", "name": cluster,
                "uid": rc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "spec": spec,
    }


def ip_for(name, used):
    """A stable fake pod IP in 10.244.0.0/16 derived from the pod name."""
    h = int(hashlib.sha1(name.encode()).hexdigest(), 16)
    while True:
        ip = f"10.244.{(h >> 8) % 256}.{2 + h % 250}"
        if ip not in used:
            used.add(ip)
            return ip
        h += 1


def kubelet_status(pod, ip, host_ip, pending=False):
    """The status a kubelet/scheduler would report."""
    t = now()
    if pending:
        return {
            "phase": "Pending",
            "qosClass": pod.get("status", {}).get("qosClass", "Burstable"),
            "conditions": [{
                "type": "PodScheduled", "status": "False", "lastProbeTime": None,
                "lastTransitionTime": t, "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient nvidia.com/gpu.",
            }],
        }
    cs = []
    for c in pod["spec"]["containers"]:
        cid = hashlib.sha256((pod["metadata"]["name"] + c["name"]).encode()).hexdigest()
        cs.append({
            "name": c["name"], "ready": True, "started": True, "restartCount": 0,
            "image": c["image"], "imageID": f"{c['image'].split(':')[0]}@sha256:{cid[:64]}",
            "containerID": f"containerd://{cid}",
            "state": {"running": {"startedAt": t}}, "lastState": {},
        })
    conds = [{"type": k, "status": "True", "lastProbeTime": None, "lastTransitionTime": t}
             for k in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    return {
        "phase": "Running", "conditions": conds, "hostIP": host_ip, "podIP": ip,
        "podIPs": [{"ip": ip}], "startTime": t, "containerStatuses": cs,
        "qosClass": pod.get("status", {}).get("qosClass", "Burstable"),
    }


def list_pods(api, ns, selector):
    sel = urllib.request.quote(selector, safe="=,")
    return api.get(f"/api/v1/namespaces/{ns}/pods?labelSelector={sel}")["items"]


def head_service(rc):
    cluster = rc["metadata"]["name"]
    head = rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    ports = [{"name": p.get("name") or f"{p['containerPort']}-port", "port": p["containerPort"],
              "targetPort": p["containerPort"], "protocol": p.get("protocol", "TCP")}
             for p in head.get("ports", [])]
    if not ports:  # KubeRay's defaults when the container declares none
        ports = [{"name": n, "port": p, "targetPort": p, "protocol": "TCP"} for n, p in
                 (("client", 10001), ("gcs-server", 6379), ("dashboard", 8265), ("serve", 8000))]
    if not any(p["name"] == "metrics" for p in ports):
        ports.append({"name": "metrics", "port": 8080, "targetPort": 8080, "protocol": "TCP"})
    sel = {k: v for k, v in ray_labels(cluster, "head", "headgroup").items() if k != "ray.io/group"
           and k != "ray.io/is-ray-node"}
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": f"{cluster}-head-svc", "namespace": rc["metadata"]["namespace"], "labels": sel,
            "ownerReferences": [{"apiVersion": "ray.io/v1", "kind": "RayCluster", "name": cluster,
                                 "uid": rc["metadata"]["uid"], "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        # Headless, as KubeRay >= 1.2 creates it by default.
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": sel, "ports": ports},
    }


def cmd_fake_pods(api, args):
    ns, cluster = args.namespace, args.cluster
    rc = api.get(f"/apis/ray.io/v1/namespaces/{ns}/rayclusters/{cluster}")
    spec = rc["spec"]
    autoscaling = bool(spec.get("enableInTreeAutoscaling"))
    existing = list_pods(api, ns, f"ray.io/cluster={cluster}")
    used_ips = {p.get("status", {}).get("podIP") for p in existing}
    pending_left = {}
    for g in args.pending:
        pending_left[g] = pending_left.get(g, 0) + 1
    out = []

    # Head service first, as the operator does.
    svc = head_service(rc)
    try:
        api.req("POST", f"/api/v1/namespaces/{ns}/services", svc)
    except ApiError as e:
        if e.code != 409:
            raise

    groups = [("head", "headgroup", spec["headGroupSpec"]["template"], 1)]
    for g in spec.get("workerGroupSpecs", []):
        groups.append(("worker", g["groupName"], g["template"], group_pods(g), g))

    for entry in groups:
        node_type, group, template, want = entry[:4]
        g = entry[4] if len(entry) > 4 else {}
        pods = [p for p in existing if p["metadata"]["labels"].get("ray.io/group") == group
                and p["metadata"]["labels"].get("ray.io/node-type") == node_type
                and not p["metadata"].get("deletionTimestamp")]
        # scaleStrategy.workersToDelete: always honoured (operator semantics).
        doomed = set(g.get("scaleStrategy", {}).get("workersToDelete") or [])
        for p in list(pods):
            if p["metadata"]["name"] in doomed:
                api.req("DELETE", f"/api/v1/namespaces/{ns}/pods/{p['metadata']['name']}",
                        {"gracePeriodSeconds": 0})
                out.append(f"deleted pod/{p['metadata']['name']} (workersToDelete)")
                pods.remove(p)
        # Too many: random deletion only with autoscaling off (operator semantics).
        while len(pods) > want and not (autoscaling and node_type == "worker"):
            p = pods.pop(random.randrange(len(pods)))
            api.req("DELETE", f"/api/v1/namespaces/{ns}/pods/{p['metadata']['name']}",
                    {"gracePeriodSeconds": 0})
            out.append(f"deleted pod/{p['metadata']['name']} (scale down)")
        # Create the missing ones.
        while len(pods) < want:
            if node_type == "head":
                prefix = f"{cluster}-head-"
            else:
                prefix = f"{cluster}-{group}"[:50] + "-worker-"
            pod = build_pod(rc, node_type, group, template, prefix + rand5())
            try:
                created = api.req("POST", f"/api/v1/namespaces/{ns}/pods", pod)
            except ApiError as e:
                if e.code == 409:  # name clash: roll again
                    continue
                raise
            pods.append(created)
            out.append(f"created pod/{created['metadata']['name']}")
        # Kubelet part: status for every pod of the group that has none yet.
        for p in pods:
            name = p["metadata"]["name"]
            cur = p.get("status", {})
            make_pending = pending_left.get(group, 0) > 0 and node_type == "worker"
            if make_pending:
                pending_left[group] -= 1
            elif cur.get("phase") == "Running" and not args.reset:
                continue
            # A fake node per pod: head on lab-node-0, workers spread over 1..3.
            n = 0 if node_type == "head" else 1 + int(hashlib.sha1(name.encode()).hexdigest(), 16) % 3
            host_ip = f"10.0.0.{10 + n}"
            if not make_pending and not p["spec"].get("nodeName"):
                # Bind as the scheduler would (sets spec.nodeName).
                node = f"lab-node-{n}"
                api.req("POST", f"/api/v1/namespaces/{ns}/pods/{name}/binding", {
                    "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
                p = api.get(f"/api/v1/namespaces/{ns}/pods/{name}")
            ip = cur.get("podIP") or ip_for(name, used_ips)
            p["status"] = kubelet_status(p, ip, host_ip, pending=make_pending)
            api.req("PUT", f"/api/v1/namespaces/{ns}/pods/{name}/status", p)
            out.append(f"pod/{name} {'Pending (Unschedulable)' if make_pending else 'Running ' + ip}")
    for g, n in pending_left.items():
        if n > 0:
            die(f"--pending {g}: no such worker group, or not enough pods in it")
    for line in out:
        print(line)


# --------------------------------------------------------------------------
# fake-nodes: what kubelets register
# --------------------------------------------------------------------------

def cmd_fake_nodes(api, args):
    """The lab's nodes as kubelets would register them: lab-node-0 without GPUs (the heads),
    lab-node-1..N with --gpus nvidia.com/gpu each and the GPU product label the NVIDIA device
    plugin's feature discovery sets. Status goes through nodes/status, as a kubelet writes it."""
    for n in range(args.count):
        name = f"lab-node-{n}"
        gpus = 0 if n == 0 else args.gpus
        labels = {"kubernetes.io/hostname": name}
        if gpus:
            labels["nvidia.com/gpu.product"] = "NVIDIA-A10G"
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}
        try:
            api.req("POST", "/api/v1/nodes", node)
        except ApiError as e:
            if e.code != 409:
                raise
        cur = api.get(f"/api/v1/nodes/{name}")
        res = {"cpu": "16", "memory": "64Gi", "pods": "110"}
        if gpus:
            res["nvidia.com/gpu"] = str(gpus)
        cur["status"] = {
            "capacity": res, "allocatable": res,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": now(), "lastTransitionTime": now()}],
            "addresses": [{"type": "InternalIP", "address": f"10.0.0.{10 + n}"},
                          {"type": "Hostname", "address": name}],
        }
        api.req("PUT", f"/api/v1/nodes/{name}/status", cur)
        print(f"node/{name} Ready, {gpus} nvidia.com/gpu")


# --------------------------------------------------------------------------
# set-status: what KubeRay's status calculation writes
# --------------------------------------------------------------------------

def is_ready(p):
    st = p.get("status", {})
    return st.get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", []))


def cmd_set_status_cluster(api, args):
    ns, cluster = args.namespace, args.name
    path = f"/apis/ray.io/v1/namespaces/{ns}/rayclusters/{cluster}"
    rc = api.get(path)
    spec, old = rc["spec"], rc.get("status", {})
    pods = [p for p in list_pods(api, ns, f"ray.io/cluster={cluster}")
            if not p["metadata"].get("deletionTimestamp")]
    heads = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
    workers = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "worker"]

    desired = mn = mx = 0
    cpu, mem, gpu = pod_totals(spec["headGroupSpec"]["template"])
    for g in spec.get("workerGroupSpecs", []):
        if g.get("suspend"):
            continue
        hosts = g.get("numOfHosts", 1) or 1
        n = group_pods(g)
        desired += n
        mn += (g.get("minReplicas", 0) or 0) * hosts
        mx = min(2147483647, mx + g.get("maxReplicas", 2147483647) * hosts)
        c, m, gp = pod_totals(g["template"])
        cpu, mem, gpu = cpu + c * n, mem + m * n, gpu + gp * n

    available = sum(1 for p in workers if p.get("status", {}).get("phase") == "Running")
    ready = sum(1 for p in workers if is_ready(p))
    t = now()
    old_conds = {c["type"]: c for c in old.get("conditions", [])}

    def cond(ctype, status, reason, message=""):
        prev = old_conds.get(ctype)
        ltt = prev["lastTransitionTime"] if prev and prev["status"] == status else t
        return {"type": ctype, "status": status, "reason": reason, "message": message,
                "lastTransitionTime": ltt, "observedGeneration": rc["metadata"]["generation"]}

    head = heads[0] if heads else None
    if head is None:
        head_cond = cond("HeadPodReady", "False", "HeadPodNotFound", "Head Pod not found")
    elif is_ready(head):
        head_cond = cond("HeadPodReady", "True", "HeadPodRunningAndReady")
    else:
        head_cond = cond("HeadPodReady", "False", "Unknown", "Head Pod is not ready")
    all_ready = head is not None and is_ready(head) and ready >= desired
    prov_prev = old_conds.get("RayClusterProvisioned", {}).get("status") == "True"
    if all_ready or prov_prev:  # sticky once True
        prov = cond("RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime",
                    "All Ray Pods are ready for the first time")
    else:
        prov = cond("RayClusterProvisioned", "False", "RayClusterPodsProvisioning",
                    "RayCluster Pods are being provisioned for first time")

    status = {
        "desiredWorkerReplicas": desired,
        "availableWorkerReplicas": available,
        "readyWorkerReplicas": ready,
        "minWorkerReplicas": mn,
        "maxWorkerReplicas": mx,
        "desiredCPU": fmt_cpu(cpu),
        "desiredMemory": fmt_mem(mem),
        "desiredGPU": fmt_cpu(gpu),
        "desiredTPU": "0",
        "lastUpdateTime": t,
        "observedGeneration": rc["metadata"]["generation"],
        "conditions": [head_cond, prov],
        "endpoints": {},
    }
    # state "ready" once every pod ran; never reset (KubeRay behaviour).
    if all_ready or old.get("state") == "ready":
        status["state"] = "ready"
        status["stateTransitionTimes"] = old.get("stateTransitionTimes") or {"ready": t}
    svc_name = f"{cluster}-head-svc"
    try:
        svc = api.get(f"/api/v1/namespaces/{ns}/services/{svc_name}")
        status["endpoints"] = {p["name"]: str(p["port"]) for p in svc["spec"]["ports"]}
    except ApiError:
        pass
    if head is not None:
        ip = head.get("status", {}).get("podIP", "")
        # Headless head service: serviceIP is the head pod IP.
        status["head"] = {"podIP": ip, "podName": head["metadata"]["name"],
                          "serviceIP": ip, "serviceName": svc_name}
    api.merge_patch(path + "/status", {"status": status})
    print(f"raycluster/{cluster} status: desired={desired} available={available} ready={ready} "
          f"cpu={status['desiredCPU']} mem={status['desiredMemory']} gpu={status['desiredGPU']} "
          f"state={status.get('state', '')!r} provisioned={prov['status']}")


def cmd_set_status_rayjob(api, args):
    ns, name = args.namespace, args.name
    path = f"/apis/ray.io/v1/namespaces/{ns}/rayjobs/{name}"
    rj = api.get(path)
    sel = rj["spec"].get("clusterSelector", {}).get("ray.io/cluster")
    cluster = sel or f"{name}-{rand5()}"
    t = now()
    status = {
        "jobId": rj["spec"].get("jobId") or f"{name}-{rand5()}",
        "rayClusterName": cluster,
        "dashboardURL": f"{cluster}-head-svc.{ns}.svc.cluster.local:8265",
        "jobStatus": args.job_status,
        "jobDeploymentStatus": args.deployment_status,
        "startTime": rj.get("status", {}).get("startTime") or t,
        "observedGeneration": rj["metadata"]["generation"],
    }
    if args.job_status in ("SUCCEEDED", "FAILED", "STOPPED"):
        status["endTime"] = t
    api.merge_patch(path + "/status", {"status": status})
    print(f"rayjob/{name} status: {args.job_status}/{args.deployment_status} on {cluster}")


def cmd_set_status_rayservice(api, args):
    ns, name = args.namespace, args.name
    path = f"/apis/ray.io/v1/namespaces/{ns}/rayservices/{name}"
    rs = api.get(path)
    apps = {}
    try:
        import yaml  # noqa: PLC0415
        cfg = yaml.safe_load(rs["spec"].get("serveConfigV2") or "") or {}
        for app in cfg.get("applications", []):
            deps = {d["name"]: {"status": "HEALTHY", "message": ""} for d in app.get("deployments", [])}
            apps[app["name"]] = {"status": "RUNNING", "message": "", "serveDeploymentStatuses": deps}
    except ImportError:
        print("[kube-lab] no PyYAML: applicationStatuses left empty", file=sys.stderr)
    t = now()
    cluster = args.cluster or f"{name}-{rand5()}"
    gen = rs["metadata"]["generation"]
    status = {
        "serviceStatus": "Running",
        "numServeEndpoints": args.endpoints,
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints", "message": "",
             "lastTransitionTime": t, "observedGeneration": gen},
            {"type": "UpgradeInProgress", "status": "False", "reason": "NoPendingCluster",
             "message": "", "lastTransitionTime": t, "observedGeneration": gen},
        ],
        "activeServiceStatus": {"rayClusterName": cluster, "applicationStatuses": apps},
        "pendingServiceStatus": {},
        "lastUpdateTime": t,
        "observedGeneration": gen,
    }
    api.merge_patch(path + "/status", {"status": status})
    print(f"rayservice/{name} status: Running, {len(apps)} apps RUNNING, active cluster {cluster}")


def main():
    ap = argparse.ArgumentParser(prog="kapi.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("apply")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-n", "--namespace", help="for namespaced objects without one (default ray-lab)")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("wait-crds")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("names", nargs="+")
    p = sub.add_parser("fake-pods")
    p.add_argument("-n", "--namespace", default=DEFAULT_NS)
    p.add_argument("--pending", action="append", default=[], metavar="GROUP",
                   help="leave one worker of GROUP Pending/Unschedulable (repeatable)")
    p.add_argument("--reset", action="store_true", help="rewrite status of Running pods too")
    p.add_argument("cluster")
    p = sub.add_parser("fake-nodes")
    p.add_argument("--count", type=int, default=4, help="lab-node-0 (no GPU) .. lab-node-(count-1)")
    p.add_argument("--gpus", type=int, default=2, help="nvidia.com/gpu on each node but lab-node-0")
    p = sub.add_parser("set-status")
    p.add_argument("-n", "--namespace", default=DEFAULT_NS)
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--rayjob", action="store_const", const="rayjob", dest="kind")
    kind.add_argument("--rayservice", action="store_const", const="rayservice", dest="kind")
    p.add_argument("--job-status", default="RUNNING")
    p.add_argument("--deployment-status", default="Running")
    p.add_argument("--cluster", help="rayservice: active RayCluster name")
    p.add_argument("--endpoints", type=int, default=1, help="rayservice: numServeEndpoints")
    p.add_argument("name")
    args = ap.parse_args()
    api = Api()
    try:
        if args.cmd == "apply":
            cmd_apply(api, args)
        elif args.cmd == "wait-crds":
            cmd_wait_crds(api, args)
        elif args.cmd == "fake-pods":
            cmd_fake_pods(api, args)
        elif args.cmd == "fake-nodes":
            cmd_fake_nodes(api, args)
        elif args.kind == "rayjob":
            cmd_set_status_rayjob(api, args)
        elif args.kind == "rayservice":
            cmd_set_status_rayservice(api, args)
        else:
            cmd_set_status_cluster(api, args)
    except ApiError as e:
        die(str(e))


if __name__ == "__main__":
    main()
