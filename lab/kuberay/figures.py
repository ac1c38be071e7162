#!/usr/bin/env python3
"""CPU and RSS of the running KubeRay lab, idle, by component and by pod.

    lab/kuberay/figures.py [--seconds 60]

Reads /proc and the pods' cgroups (cgroup v1, under the kubelet's cgroup root) twice, SECONDS
apart, and prints each component's CPU (in % of one core, averaged over the window) and resident
memory. Control-plane processes are found by up.sh's pid files; each pod by its cgroup, named
through the API server (the lab's kubectl and admin kubeconfig).
"""
import argparse
import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RLAB = os.path.join(ROOT, ".lab", "kuberay")
RUN = os.path.join(RLAB, "run")
CACHE = os.path.join(os.environ.get("RAYTOP_LAB_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "raytop-lab"), "kuberay")
K8S_VERSION = os.environ.get("K8S_VERSION", "v1.34.4")
CGROUP_ROOT = "raytop-lab"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# up.sh's pid files, in the order printed.
COMPONENTS = ["etcd", "apiserver", "controller-manager", "scheduler", "operator",
              "kubelet", "containerd", "kube-proxy", "coredns"]


def children():
    """pid -> list of child pids, for every process now."""
    kids = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        kids.setdefault(ppid, []).append(int(pid))
    return kids


def proc_cpu_rss(pid):
    """(CPU seconds so far, RSS bytes) of one process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/statm") as f:
            rss_pages = int(f.read().split()[1])
    except OSError:
        return None
    # After the ")": state is fields[0], so utime (stat field 14) is fields[11].
    return (int(fields[11]) + int(fields[12])) / TICK, rss_pages * PAGE


def pod_cgroups():
    """pod uid -> its cgroup path below the controller's root (kubepods/<qos>/pod<uid>)."""
    base = f"/sys/fs/cgroup/cpuacct/{CGROUP_ROOT}/kubepods"
    found = {}
    for dirpath, dirnames, _ in os.walk(base):
        for d in dirnames:
            if d.startswith("pod"):
                found[d[3:]] = os.path.relpath(os.path.join(dirpath, d), "/sys/fs/cgroup/cpuacct")
        if os.path.basename(dirpath).startswith("pod"):
            dirnames.clear()
    return found


def pod_cpu_rss(rel):
    with open(f"/sys/fs/cgroup/cpuacct/{rel}/cpuacct.usage") as f:
        cpu = int(f.read()) / 1e9
    rss = 0
    with open(f"/sys/fs/cgroup/memory/{rel}/memory.stat") as f:
        for line in f:
            key, value = line.split()
            if key == "total_rss":
                rss = int(value)
    return cpu, rss


def pod_names():
    kubectl = os.path.join(CACHE, f"k8s-{K8S_VERSION}", "bin", "kubectl")
    out = subprocess.run([kubectl, "--kubeconfig", os.path.join(RLAB, "kubeconfig"), "get", "pods", "-A", "-o", "json"],
                         check=True, capture_output=True, text=True).stdout
    return {p["metadata"]["uid"]: f'{p["metadata"]["namespace"]}/{p["metadata"]["name"]}'
            for p in json.loads(out)["items"]}


def component_pids():
    """component -> its process and its descendants outside the pods' cgroups; containerd's
    shims, which leave their parent, count with containerd."""
    kids = children()
    shims = [p for v in kids.values() for p in v if _comm(p).startswith("containerd-shim")]
    groups = {}
    for name in COMPONENTS:
        try:
            with open(os.path.join(RUN, f"{name}.pid")) as f:
                root = int(f.read().strip())
        except OSError:
            continue
        todo, seen = [root], []
        while todo:
            p = todo.pop()
            seen.append(p)
            todo.extend(k for k in kids.get(p, []) if not _in_pod(k))
        groups[name] = seen
    containerd = groups.setdefault("containerd", [])
    containerd.extend(s for s in set(shims) if s not in containerd)
    return groups


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _in_pod(pid):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return f"/{CGROUP_ROOT}/kubepods" in f.read()
    except OSError:
        return False


def sample():
    comps = {}
    for name, pids in component_pids().items():
        vals = [v for v in (proc_cpu_rss(p) for p in pids) if v]
        comps[name] = (sum(v[0] for v in vals), sum(v[1] for v in vals))
    pods = {uid: pod_cpu_rss(rel) for uid, rel in pod_cgroups().items()}
    return comps, pods


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    names = pod_names()
    c0, p0 = sample()
    t0 = time.monotonic()
    time.sleep(args.seconds)
    c1, p1 = sample()
    window = time.monotonic() - t0
    rows = []
    for name in COMPONENTS:
        if name in c0 and name in c1:
            rows.append((name, (c1[name][0] - c0[name][0]) / window * 100, c1[name][1]))
    for uid in sorted(p1, key=lambda u: names.get(u, u)):
        if uid in p0:
            rows.append((f"pod {names.get(uid, uid)}", (p1[uid][0] - p0[uid][0]) / window * 100, p1[uid][1]))
    print(f"KubeRay lab idle over {window:.0f} s ({os.cpu_count()} cores): CPU in % of one core, RSS")
    for name, cpu, rss in rows:
        print(f"  {name:<58} {cpu:6.1f} %  {rss / 2**20:8.0f} MiB")
    print(f"  {'total':<58} {sum(r[1] for r in rows):6.1f} %  {sum(r[2] for r in rows) / 2**20:8.0f} MiB")


if __name__ == "__main__":
    main()
