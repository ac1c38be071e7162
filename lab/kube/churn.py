"""Pod churn in a namespace of its own: N label updates on one pod, so the API server's watch
cache for pods moves on and an older resourceVersion expires (410). Usage: churn.py [N]"""

import concurrent.futures
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import kapi  # noqa: E402

NS = "churn"


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    api = kapi.Api()
    for path, body in [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        (f"/api/v1/namespaces/{NS}/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "churn"},
                                          "spec": {"containers": [{"name": "c", "image": "busybox"}],
                                                   # never placed: on a lab with a real node it
                                                   # stays Pending and runs nothing
                                                   "nodeSelector": {"raytop-lab/never": "true"}}}),
    ]:
        try:
            api.req("POST", path, body)
        except kapi.ApiError as e:
            if e.code != 409:
                raise

    def bump(i):
        api.merge_patch(f"/api/v1/namespaces/{NS}/pods/churn", {"metadata": {"labels": {"churn": str(i)}}})

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(bump, range(n)))
    print(f"[kube-lab] {n} pod updates in {NS}")


if __name__ == "__main__":
    main()
