"""Joins the two labs: a RayCluster `ray-lab` in namespace ray-lab whose pods are the Ray lab's
nodes, as KubeRay would have made them (pod name = the node's instanceId, pod IP = its IP,
`ray.io/group` = its nodeTypeName). Reads the running Ray lab's dashboard; needs both labs up.
Usage: pods-for-ray-lab.py [DASHBOARD_URL] [NODES_TO_WAIT_FOR]
A token-auth lab's token is read from $RAYTOP_LAB_TOKEN_FILE when that file exists."""

import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import kapi  # noqa: E402

NS = "ray-lab"
NAME = "ray-lab"


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8265"
    want = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    # The lab's cpu-group (min 1) joins a few seconds after the head: wait for it.
    deadline = time.time() + 90
    while True:
        req = urllib.request.Request(url + "/nodes?view=summary")
        token_file = os.environ.get("RAYTOP_LAB_TOKEN_FILE", "")
        if token_file and os.path.exists(token_file):
            with open(token_file) as f:
                req.add_header("Authorization", "Bearer " + f.read().strip())
        with urllib.request.urlopen(req, timeout=10) as r:
            summary = json.load(r)["data"]["summary"]
        # A node that is still registering can be listed without its ip yet: wait for it.
        nodes = [s["raylet"] | {"ip": s["ip"]} for s in summary
                 if s.get("raylet", {}).get("state") == "ALIVE" and s.get("ip")]
        if len(nodes) >= want or time.time() > deadline:
            break
        time.sleep(1)
    groups = sorted({n["nodeTypeName"] for n in nodes if not n["isHeadNode"]})
    container = {"name": "ray", "image": "rayproject/ray:2.60.0", "resources": {"requests": {"cpu": "1"}}}
    rc = {
        "apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": NAME, "namespace": NS},
        "spec": {
            "rayVersion": "2.60.0", "enableInTreeAutoscaling": True,
            "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [container]}}},
            "workerGroupSpecs": [
                {"groupName": g, "replicas": sum(1 for n in nodes if n["nodeTypeName"] == g), "minReplicas": 0,
                 "maxReplicas": 3, "rayStartParams": {}, "template": {"spec": {"containers": [container]}}}
                for g in groups
            ],
        },
    }
    api = kapi.Api()
    path = f"/apis/ray.io/v1/namespaces/{NS}/rayclusters"
    try:
        rc = api.req("POST", path, rc)
    except kapi.ApiError as e:
        if e.code != 409:
            raise
        current = api.get(f"{path}/{NAME}")
        current["spec"] = rc["spec"]  # the groups the Ray lab has now
        rc = api.req("PUT", f"{path}/{NAME}", current)
    for n in nodes:
        head = n["isHeadNode"]
        group = "headgroup" if head else n["nodeTypeName"]
        spec = rc["spec"]["headGroupSpec"] if head else next(g for g in rc["spec"]["workerGroupSpecs"] if g["groupName"] == group)
        pod = kapi.build_pod(rc, "head" if head else "worker", group, spec["template"], n["instanceId"])
        api.create(f"/api/v1/namespaces/{NS}/pods", pod)
        cur = api.get(f"/api/v1/namespaces/{NS}/pods/{n['instanceId']}")
        cur["status"] = kapi.kubelet_status(cur, n["ip"], n["ip"])
        api.req("PUT", f"/api/v1/namespaces/{NS}/pods/{n['instanceId']}/status", cur)
    print(f"[kube-lab] RayCluster {NAME}: {len(nodes)} pods for the Ray lab's nodes")


if __name__ == "__main__":
    main()
