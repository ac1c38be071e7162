#!/usr/bin/env python3
"""The scale rig: an HTTP server that answers like a Ray 2.60 dashboard of N nodes, M actors and
K Serve replicas, with churn. Every answer is built from the lab's own captures
(tests/fixtures/dashboard/v3-history): the same fields, the same nulls, only more of them, so
raytop parses what it would parse from a real head of that size.

Churn, every --churn seconds: a few worker nodes die (state DEAD, end time set) and as many new
ones join; a few actors restart (the old id DEAD, a new one ALIVE); logical usage moves.

Bodies are rebuilt once per churn tick, so serving costs what sending costs. /rig/stats answers
JSON: per path, requests, bytes sent, the most requests in flight at once (raytop must never
have two in flight to one endpoint) and the longest gap between two requests; /rig/reset starts
the counts anew. --slow S (or /rig/slow?s=S while running) delays every answer by S seconds, as an
overloaded head does.

With --tune-dir DIR it also writes a Tune experiment of --trials T trials there (the lab's `grid`
capture, its trials repeated, a tenth of them RUNNING), and on every churn tick 100 of the
RUNNING ones report one more result.

usage: ray_rig.py [--port P] [--nodes N] [--actors M] [--replicas K] [--churn S] [--slow S]
                  [--slow-path PATH=S ...] [--tune-dir DIR --trials T]
"""

import argparse
import copy
import json
import os
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "tests", "fixtures", "dashboard", "v3-history")
GROUPS = ["cpu-group", "gpu-group", "cpu-small", "gpu-a100", "gpu-h100", "cpu-highmem", "spot-cpu", "spot-gpu"]


def load(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return json.loads(f.read())


def node_id(i):
    return f"{i:056x}"


class Cluster:
    """The state the answers are built from; `bodies` is rebuilt on every tick."""

    def __init__(self, nodes, actors, replicas, seed=7):
        self.rng = random.Random(seed)
        self.tpl_summary = load("nodes_summary.json")
        self.tpl_status = load("cluster_status.json")
        self.tpl_v0 = load("v0_nodes.json")
        self.tpl_actors = load("actors.json")
        self.tpl_serve = load("serve_applications.json")
        self.static = {name: open(os.path.join(FIXTURES, f"{name}.json"), "rb").read()
                       for name in ("version", "authentication_mode", "jobs", "cluster_events", "cluster_status_format1")}
        summary = self.tpl_summary["data"]["summary"]
        self.head_tpl = next(s for s in summary if s["raylet"]["isHeadNode"])
        self.worker_tpl = next(s for s in summary if not s["raylet"]["isHeadNode"])
        self.next_node = 1
        now = time.time()
        self.nodes = [self.new_node(0, now, head=True)]
        for _ in range(nodes - 1):
            self.nodes.append(self.new_node(self.next_node, now))
            self.next_node += 1
        alive_tpl = next(a for a in self.tpl_actors["data"]["result"]["result"] if a["state"] == "ALIVE")
        self.actor_tpl = alive_tpl
        self.next_actor = 0
        self.actors = [self.new_actor() for _ in range(actors)]
        self.replicas = replicas
        self.lock = threading.Lock()
        self.bodies = {}
        self.rebuild()

    def new_node(self, i, now, head=False):
        group = "ray.head.default" if head else GROUPS[i % len(GROUPS)]
        return {"i": i, "id": node_id(i), "group": group, "head": head, "alive": True,
                "ip": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", "port": 40000 + i % 20000,
                "cpu_total": 1.0 if head else 8.0, "cpu_used": 0.0 if head else float(self.rng.randint(0, 8)),
                "gpu_total": 0.0 if head or "gpu" not in group else 8.0, "start": now, "end": 0.0}

    def new_actor(self):
        alive = [n for n in self.nodes if n["alive"]]
        n = alive[self.next_actor % len(alive)]
        a = {"id": f"{self.next_actor:024x}{1:08x}", "node": n["id"], "pid": 10000 + self.next_actor, "state": "ALIVE"}
        self.next_actor += 1
        return a

    def churn(self):
        now = time.time()
        with self.lock:
            workers = [n for n in self.nodes if n["alive"] and not n["head"]]
            for n in self.rng.sample(workers, min(len(workers), max(1, len(workers) // 200))):
                n["alive"], n["end"] = False, now
                self.nodes.append(self.new_node(self.next_node, now))
                self.next_node += 1
            # Dead nodes are kept for a while, as Ray keeps them; the oldest leave.
            dead = [n for n in self.nodes if not n["alive"]]
            for n in dead[:-max(1, len(self.nodes) // 20)]:
                self.nodes.remove(n)
            for a in self.rng.sample(self.actors, min(len(self.actors), max(1, len(self.actors) // 100))):
                a["state"] = "DEAD"
                self.actors.append(self.new_actor())
            self.actors = [a for a in self.actors if a["state"] == "ALIVE"] + \
                [a for a in self.actors if a["state"] == "DEAD"][-max(1, len(self.actors) // 50):]
            for n in workers:
                n["cpu_used"] = float(self.rng.randint(0, int(n["cpu_total"])))
        self.rebuild()

    def summary_entry(self, n):
        e = copy.deepcopy(self.head_tpl if n["head"] else self.worker_tpl)
        e["ip"] = n["ip"]
        r = e["raylet"]
        r.update({"nodeId": n["id"], "nodeManagerAddress": n["ip"], "nodeName": n["ip"], "instanceId": f"raycluster-rig-{n['group']}-{n['i']:05d}",
                  "nodeTypeName": n["group"], "state": "ALIVE" if n["alive"] else "DEAD", "metricsExportPort": n["port"],
                  "startTimeMs": str(int(n["start"] * 1000)), "endTimeMs": str(int(n["end"] * 1000)),
                  "isHeadNode": n["head"]})
        r["resourcesTotal"] = {"CPU": n["cpu_total"], "memory": 17179869184.0, "objectStoreMemory": 7e9,
                               f"node:{n['ip']}": 1.0, **({"GPU": n["gpu_total"]} if n["gpu_total"] else {})}
        r["labels"] = {"ray.io/node-id": n["id"], "ray.io/node-group": n["group"]}
        return e

    def logical_text(self, n):
        lines = [f"{n['cpu_used']}/{n['cpu_total']} CPU"]
        if n["gpu_total"]:
            lines.append(f"{min(n['cpu_used'], n['gpu_total'])}/{n['gpu_total']} GPU")
        lines += ["0B/16.00GiB memory", "0B/6.52GiB object_store_memory"]
        return "\n".join(lines)

    def rebuild(self):
        with self.lock:
            nodes = list(self.nodes)
            actors = list(self.actors)
        now = time.time()
        s = copy.deepcopy(self.tpl_summary)
        s["data"]["summary"] = [dict(self.summary_entry(n), now=now) for n in nodes]
        s["data"]["nodeLogicalResources"] = {n["id"]: self.logical_text(n) for n in nodes if n["alive"]}
        v0 = copy.deepcopy(self.tpl_v0)
        tpl_v0 = v0["data"]["result"]["result"][0]
        v0["data"]["result"]["result"] = [
            dict(tpl_v0, node_id=n["id"], node_ip=n["ip"], node_name=n["ip"], is_head_node=n["head"],
                 state="ALIVE" if n["alive"] else "DEAD", labels={"ray.io/node-id": n["id"], "ray.io/node-group": n["group"]},
                 start_time_ms=int(n["start"] * 1000), end_time_ms=int(n["end"] * 1000),
                 resources_total={"CPU": n["cpu_total"], **({"GPU": n["gpu_total"]} if n["gpu_total"] else {})})
            for n in nodes]
        v0["data"]["result"]["total"] = len(nodes)
        st = copy.deepcopy(self.tpl_status)
        cs = st["data"]["clusterStatus"]
        cs["time"] = now
        active = {}
        for n in nodes:
            if n["alive"]:
                active[n["group"]] = active.get(n["group"], 0) + 1
        cs["autoscalerReport"]["activeNodes"] = active
        cs["autoscalerReport"]["nodeTypeMapping"] = {n["id"]: n["group"] for n in nodes if n["alive"]}
        cs["loadMetricsReport"]["usageByNode"] = {
            n["id"]: {"CPU": [n["cpu_used"], n["cpu_total"]], "memory": [0.0, 17179869184.0],
                      **({"GPU": [min(n["cpu_used"], n["gpu_total"]), n["gpu_total"]]} if n["gpu_total"] else {})}
            for n in nodes if n["alive"]}
        ac = copy.deepcopy(self.tpl_actors)
        ac["data"]["result"]["result"] = [
            dict(self.actor_tpl, actor_id=a["id"], node_id=a["node"], pid=a["pid"], state=a["state"]) for a in actors]
        for k in ("total", "num_after_truncation", "num_filtered"):
            ac["data"]["result"][k] = len(actors)
        sv = copy.deepcopy(self.tpl_serve)
        app = next(iter(sv["applications"].values()))
        dep = next(iter(app["deployments"].values()))
        rep_tpl = dep["replicas"][0]
        alive = [n for n in nodes if n["alive"]]
        dep["target_num_replicas"] = self.replicas
        dep["replicas"] = [dict(rep_tpl, replica_id=f"r{i:07d}", actor_id=f"{i:024x}{2:08x}", node_id=alive[i % len(alive)]["id"],
                                node_ip=alive[i % len(alive)]["ip"], pid=20000 + i) for i in range(self.replicas)]
        bodies = {
            "/nodes": json.dumps(s).encode(),
            "/api/v0/nodes": json.dumps(v0).encode(),
            "/api/cluster_status": json.dumps(st).encode(),
            "/api/v0/actors": json.dumps(ac).encode(),
            "/api/serve/applications/": json.dumps(sv).encode(),
            "/api/version": self.static["version"],
            "/api/authentication_mode": self.static["authentication_mode"],
            "/api/jobs/": self.static["jobs"],
            "/api/v0/cluster_events": self.static["cluster_events"],
            "/api/cluster_status?format=1": self.static["cluster_status_format1"],
        }
        with self.lock:
            self.bodies = bodies


class Experiment:
    """A Tune experiment of `trials` trials on disk, built from the lab's `grid` capture."""

    def __init__(self, root, trials, seed=11):
        src = os.path.join(HERE, "..", "..", "tests", "fixtures", "tune", "grid")
        state_name = sorted(f for f in os.listdir(src) if f.startswith("experiment_state-"))[-1]
        with open(os.path.join(src, state_name)) as f:
            state = json.load(f)
        pairs = state["trial_data"]
        self.dir = os.path.join(root, "rig_experiment")
        os.makedirs(self.dir, exist_ok=True)
        self.rng = random.Random(seed)
        self.results = []
        self.live = max(1, trials // 10)
        trial_data = []
        for i in range(trials):
            pair = pairs[i % len(pairs)]
            t = json.loads(pair[0])
            old_dir, old_id = t["relative_logdir"], t["trial_id"]
            tid = f"rig_{i:05d}"
            logdir = f"trial_{tid}"
            t["trial_id"], t["relative_logdir"] = tid, logdir
            # A sweep of this size runs a tenth of its trials at once; the rest are over.
            if i < self.live:
                t["status"] = "RUNNING"
            trial_data.append([json.dumps(t), pair[1]])
            with open(os.path.join(src, old_dir, "result.json")) as f:
                text = f.read().replace(old_id, tid)
            os.makedirs(os.path.join(self.dir, logdir), exist_ok=True)
            path = os.path.join(self.dir, logdir, "result.json")
            with open(path, "w") as f:
                f.write(text)
            self.results.append((path, json.loads(text.strip().splitlines()[-1])))
        state["trial_data"] = trial_data
        with open(os.path.join(self.dir, state_name), "w") as f:
            json.dump(state, f)

    def report(self, n=100):
        """`n` of the RUNNING trials report one more result."""
        for k in self.rng.sample(range(self.live), min(n, self.live)):
            path, last = self.results[k]
            last = dict(last, training_iteration=last.get("training_iteration", 0) + 1, timestamp=int(time.time()))
            with open(path, "a") as f:
                f.write(json.dumps(last) + "\n")
            self.results[k] = (path, last)


class Stats:
    """Per path: requests, bytes, the most in flight at once, and the longest gap between two
    requests (how old an answer on screen can get)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.paths = {}
        self.last = {}

    def enter(self, path):
        now = time.monotonic()
        with self.lock:
            p = self.paths.setdefault(path, {"requests": 0, "bytes": 0, "in_flight": 0, "max_in_flight": 0,
                                             "max_gap_s": 0.0})
            p["requests"] += 1
            p["in_flight"] += 1
            p["max_in_flight"] = max(p["max_in_flight"], p["in_flight"])
            if path in self.last:
                p["max_gap_s"] = round(max(p["max_gap_s"], now - self.last[path]), 3)
            self.last[path] = now

    def leave(self, path, sent):
        with self.lock:
            p = self.paths.get(path)
            if p is None:  # counts were reset while this answer was on its way: it is not in them
                return
            p["in_flight"] = max(0, p["in_flight"] - 1)
            p["bytes"] += sent


def serve(args):
    cluster = Cluster(args.nodes, args.actors, args.replicas)
    experiment = Experiment(args.tune_dir, args.trials) if args.tune_dir else None
    stats = Stats()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/rig/stats":
                with stats.lock:
                    body = json.dumps(stats.paths).encode()
                return self.answer(200, body)
            if url.path == "/rig/slow":
                # Changes --slow while running: the same rig, answering late from now on.
                args.slow = float(dict(kv.split("=", 1) for kv in url.query.split("&") if "=" in kv).get("s", "0"))
                return self.answer(200, b"{}")
            if url.path == "/rig/reset":
                with stats.lock:
                    stats.paths.clear()
                    stats.last.clear()
                return self.answer(200, b"{}")
            key = "/api/cluster_status?format=1" if url.path == "/api/cluster_status" and "format=1" in url.query else url.path
            with cluster.lock:
                body = cluster.bodies.get(key)
            if body is None:
                return self.answer(404, b'{"result": false, "msg": "not in the rig"}')
            stats.enter(key)
            try:
                delay = args.slow_path.get(url.path, args.slow)
                if delay:
                    time.sleep(delay)
                self.answer(200, body)
            finally:
                stats.leave(key, len(body))

        def answer(self, code, body):
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def churn():
        while True:
            time.sleep(args.churn)
            cluster.churn()
            if experiment:
                experiment.report()

    threading.Thread(target=churn, daemon=True).start()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    sizes = {k: len(v) for k, v in cluster.bodies.items()}
    ready = {"port": srv.server_address[1], "sizes": sizes}
    if experiment:
        ready["tune_dir"] = experiment.dir
    print(json.dumps(ready), flush=True)
    srv.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--actors", type=int, default=20000)
    ap.add_argument("--replicas", type=int, default=500)
    ap.add_argument("--churn", type=float, default=5.0)
    ap.add_argument("--slow", type=float, default=0.0)
    ap.add_argument("--slow-path", action="append", default=[], metavar="PATH=S",
                    help="delay the answers of one path only (e.g. /nodes=10: a summary that takes long to arrive)")
    ap.add_argument("--tune-dir", default=None)
    ap.add_argument("--trials", type=int, default=5000)
    args = ap.parse_args()
    args.slow_path = {p: float(s) for p, s in (kv.split("=", 1) for kv in args.slow_path)}
    serve(args)


if __name__ == "__main__":
    main()
