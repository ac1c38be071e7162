#!/usr/bin/env python3
"""Small client for the kube lab's API server (stdlib only; PyYAML optional), and
the builders of Ray pods as KubeRay labels them that load.py uses for the scale
load (no operator acts there):

  apply FILE...                 create-or-replace objects from YAML/JSON files
  wait-crds NAME...             wait until CRDs are Established

The tests' objects come from the real KubeRay operator (lab/kuberay/).

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
# Ray pods as KubeRay labels them, with a kubelet's status, for load.py's scale
# load (no operator or kubelet acts on those objects)
# --------------------------------------------------------------------------

def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    args = ap.parse_args()
    api = Api()
    try:
        if args.cmd == "apply":
            cmd_apply(api, args)
        elif args.cmd == "wait-crds":
            cmd_wait_crds(api, args)
    except ApiError as e:
        die(str(e))


if __name__ == "__main__":
    main()
