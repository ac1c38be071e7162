#!/usr/bin/env python3
"""Watch-event load for the kube lab: label patches on the Ray pods load.py made in `ray-scale`,
round-robin, as fast as RATE per second allows (or the API server takes), for SECONDS. Each patch
is one MODIFIED event on raytop's pod watch. Prints the rate the API server took.
Usage: storm.py [RATE] [SECONDS] [THREADS]"""

import concurrent.futures
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import kapi  # noqa: E402

NS = "ray-scale"


def main():
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 200
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    api = kapi.Api()
    pods = [p["metadata"]["name"] for p in
            api.get(f"/api/v1/namespaces/{NS}/pods?labelSelector=ray.io/is-ray-node%3Dyes")["items"]]
    if not pods:
        kapi.die(f"no Ray pods in {NS}: run load.py first")
    lock = threading.Lock()
    state = {"next": 0, "done": 0}
    start = time.monotonic()
    end = start + seconds

    def worker():
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            due = start + i / rate
            if due > end:
                return
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            name = pods[i % len(pods)]
            api.merge_patch(f"/api/v1/namespaces/{NS}/pods/{name}", {"metadata": {"labels": {"storm": str(i)}}})
            with lock:
                state["done"] += 1

    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(worker) for _ in range(threads)]:
            f.result()
    took = time.monotonic() - start
    print(f"[kube-lab] {state['done']} pod patches in {took:.1f}s: {state['done'] / took:.0f}/s "
          f"(asked {rate:.0f}/s, {threads} threads)")


if __name__ == "__main__":
    main()
