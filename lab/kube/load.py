"""Scale load for the kube lab: N RayClusters with M pods each (head + workers, KubeRay's labels,
status Running) in namespace `ray-scale`, created through the real API server, for measuring
raytop at scale (lab/kube/figures.sh). Usage: load.py [CLUSTERS] [PODS_PER_CLUSTER]"""

import concurrent.futures
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import kapi  # noqa: E402

NS = "ray-scale"


def main():
    clusters = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    api = kapi.Api()
    try:
        api.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    except kapi.ApiError as e:
        if e.code != 409:
            raise

    def one(i):
        name = f"scale-{i:03d}"
        rc = {
            "apiVersion": "ray.io/v1",
            "kind": "RayCluster",
            "metadata": {"name": name, "namespace": NS},
            "spec": {
                "rayVersion": "2.60.0",
                "enableInTreeAutoscaling": True,
                "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [
                    {"name": "ray-head", "image": "rayproject/ray:2.60.0",
                     "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}]}}},
                "workerGroupSpecs": [{"groupName": "workers", "replicas": per - 1, "minReplicas": 0,
                                      "maxReplicas": per * 2, "rayStartParams": {}, "template": {"spec": {
                                          "containers": [{"name": "ray-worker", "image": "rayproject/ray:2.60.0",
                                                          "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}]}}}],
            },
        }
        try:
            rc = api.req("POST", f"/apis/ray.io/v1/namespaces/{NS}/rayclusters", rc)
        except kapi.ApiError as e:
            if e.code != 409:
                raise
            rc = api.get(f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/{name}")
        for j in range(per):
            head = j == 0
            group = "headgroup" if head else "workers"
            pod_name = f"{name}-head" if head else f"{name}-workers-worker-{j:03d}"
            template = rc["spec"]["headGroupSpec" if head else "workerGroupSpecs"]
            template = template["template"] if head else template[0]["template"]
            pod = kapi.build_pod(rc, "head" if head else "worker", group, template, pod_name)
            pod["metadata"]["namespace"] = NS
            try:
                api.req("POST", f"/api/v1/namespaces/{NS}/pods", pod)
            except kapi.ApiError as e:
                if e.code != 409:
                    raise
            ip = f"10.{100 + i // 250}.{i % 250}.{j + 2}"
            st = api.get(f"/api/v1/namespaces/{NS}/pods/{pod_name}")
            st["status"] = kapi.kubelet_status(st, ip, "10.0.0.1")
            api.req("PUT", f"/api/v1/namespaces/{NS}/pods/{pod_name}/status", st)
        return name

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as ex:
        done = list(ex.map(one, range(clusters)))
    print(f"[kube-lab] {len(done)} RayClusters with {per} pods each in {NS}")


if __name__ == "__main__":
    main()
