#!/usr/bin/env python3
"""Whole-process figures at scale: raytop and the `raytop` 0.1 crate (the peer) side by side against
the scale rig (ray_rig.py: N nodes, M actors, K Serve replicas, T Tune trials, with churn), each in
a tmux pane as a user runs it, both at a 1 s refresh (the peer has a fixed 2 s loop).

Per tool, on the Cluster view:
  - launch to the first frame showing the head node, against one round trip of the usage answer;
  - CPU (% of one core), RSS (peak) over the window;
  - requests and bytes per minute per endpoint, the most requests in flight to one path at once,
    and the longest gap between two requests for the usage answer (how old usage on screen gets);
then for raytop alone:
  - keys: views switched by key (1, 5, 3, 4 in turn), each timed from tmux send-keys until the
    view's own header is on screen (outside), and inside the process from reading the key to the
    end of the frame that shows it; the 99th percentile of draw time (raytop's loop stats);
  - a slow dashboard (every answer delayed by --slow seconds): requests per minute against the
    same window at full speed.
Ratios are raytop / peer from this same run.

usage: figures.py --raytop BIN [--peer BIN] [--seconds S] [--nodes N] [--actors M] [--replicas K]
                  [--trials T] [--slow S] [--keys K] [--kube | --kubeconfig PATH] [--out DIR]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf("SC_CLK_TCK")
# Each view's own column header: on screen only when that view is drawn.
VIEW_MARK = {"1": "GROUP / NODE", "5": "GROUP / GPU", "3": "APP / DEPLOYMENT", "4": "#    TRIAL"}


def tmux(*args, capture=False):
    r = subprocess.run(["tmux", *args], check=True, text=True, capture_output=True)
    return r.stdout if capture else None


def screen(session):
    return tmux("capture-pane", "-p", "-t", session, capture=True)


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def tool_pid(session):
    """The tool's own pid: the pane runs `env ... BIN`, which execs it."""
    return int(tmux("display-message", "-p", "-t", session, "#{pane_pid}", capture=True).strip())


class Rig:
    def __init__(self, args, tune_root):
        cmd = [sys.executable, os.path.join(HERE, "ray_rig.py"), "--nodes", str(args.nodes), "--actors", str(args.actors),
               "--replicas", str(args.replicas), "--tune-dir", tune_root, "--trials", str(args.trials)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.ready = json.loads(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.ready['port']}"

    def stats(self):
        return json.loads(get(self.url + "/rig/stats"))

    def reset(self):
        get(self.url + "/rig/reset")

    def slow(self, seconds):
        get(f"{self.url}/rig/slow?s={seconds}")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def run_tool(name, cmd, env, rig, args, out):
    session = f"raytop-rig-{name}"
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    head_ip = "10.0.0.0"
    rig.reset()
    t0 = time.monotonic()
    tmux("new-session", "-d", "-x", "200", "-y", "60", "-s", session, "exec env -u KUBECONFIG -u RAY_ADDRESS " + " ".join(f"{k}={v}" for k, v in env.items()) + " " + cmd)
    first = None
    polls = 0
    while time.monotonic() - t0 < 120:
        if head_ip in screen(session):
            first = time.monotonic()
            break
        if "KUBECONFIG" in env and name == "raytop" and polls % 25 == 0:
            tmux("send-keys", "-t", session, "1")  # with Kubernetes it opens on the Kube view
        polls += 1
        time.sleep(0.02)
    if first is None:
        print(screen(session))
        sys.exit(f"{name} never showed the head node")
    pid = tool_pid(session)
    time.sleep(5)  # start-up settles before the idle window
    rig.reset()
    c0, w0 = cpu_ticks(pid), time.monotonic()
    rss_max = 0
    while time.monotonic() - w0 < args.seconds:
        time.sleep(1)
        rss_max = max(rss_max, rss_kb(pid))
    c1, w1 = cpu_ticks(pid), time.monotonic()
    per_path = rig.stats()
    minutes = (w1 - w0) / 60
    fig = {
        "tool": name,
        "first_frame_ms": round((first - t0) * 1000),
        "cpu_pct_of_core": round((c1 - c0) / HZ / (w1 - w0) * 100, 2),
        "rss_mb": round(rss_max / 1024, 1),
        "requests_per_min": round(sum(p["requests"] for p in per_path.values()) / minutes, 1),
        "mb_per_min": round(sum(p["bytes"] for p in per_path.values()) / 1e6 / minutes, 2),
        "max_in_flight": max((p["max_in_flight"] for p in per_path.values()), default=0),
        "usage_max_gap_s": per_path.get("/api/cluster_status", {}).get("max_gap_s"),
        "per_path": {k: {"per_min": round(v["requests"] / minutes, 1), "mb_per_min": round(v["bytes"] / 1e6 / minutes, 2),
                         "max_in_flight": v["max_in_flight"], "max_gap_s": v["max_gap_s"]} for k, v in per_path.items()},
    }
    with open(os.path.join(out, f"{name}.screen.txt"), "w") as f:
        f.write(screen(session))
    return session, pid, fig


def keys(session, n):
    """Switches views by key n times; the outside latency of each, in ms."""
    order = ["5", "3", "4", "1"]
    lat = []
    for i in range(n):
        key = order[i % len(order)]
        t = time.monotonic()
        tmux("send-keys", "-t", session, key)
        while VIEW_MARK[key] not in screen(session):
            if time.monotonic() - t > 5:
                sys.exit(f"key {key}: view never drew")
        lat.append((time.monotonic() - t) * 1000)
        time.sleep(0.3)  # a user's pace, and the frames between keys
    return lat


def p99(v):
    v = sorted(v)
    return v[max(0, -(-99 * len(v) // 100) - 1)] if v else 0


def loop_stats(log_path):
    """raytop's own loop-stats lines (one a minute and one at exit)."""
    out = []
    with open(log_path) as f:
        for line in f:
            if "loop stats" in line:
                out.append({k: v.strip('"') for k, v in (kv.split("=", 1) for kv in line.split() if "=" in kv)})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raytop", required=True)
    ap.add_argument("--peer")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--actors", type=int, default=20000)
    ap.add_argument("--replicas", type=int, default=500)
    ap.add_argument("--trials", type=int, default=5000)
    ap.add_argument("--slow", type=float, default=2.0)
    ap.add_argument("--keys", type=int, default=40)
    ap.add_argument("--kubeconfig", help="also watch this API server (load it with lab/kube/load.py first)")
    ap.add_argument("--kube", action="store_true",
                    help="start the lab's API server (lab/kube/up.sh), load it with 200 RayClusters and 5,000 pods "
                         "(lab/kube/load.py) and watch it too; lab/kube/down.sh afterwards")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    kube_started = False
    if args.kube:
        lab = os.path.join(HERE, "..", "kube")
        subprocess.run([os.path.join(lab, "up.sh")], check=True)
        kube_started = True
        t = time.monotonic()
        subprocess.run([sys.executable, os.path.join(lab, "load.py"), "200", "25"], check=True)
        print(f"API server loaded with 200 RayClusters x 25 pods in {time.monotonic() - t:.0f} s", flush=True)
        args.kubeconfig = os.path.abspath(os.path.join(HERE, "..", "..", ".lab", "kube", "kubeconfig"))
    try:
        run(args)
    finally:
        if kube_started:
            subprocess.run([os.path.join(HERE, "..", "kube", "down.sh")])


def run(args):
    tmp = tempfile.mkdtemp(prefix="raytop-rig-")
    out = args.out or tmp
    os.makedirs(out, exist_ok=True)
    rig = Rig(args, os.path.join(tmp, "tune"))
    try:
        print(f"rig: {args.nodes} nodes, {args.actors} actors, {args.replicas} replicas, {args.trials} trials; "
              f"answer sizes: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in rig.ready["sizes"].items() if v > 10_000), flush=True)
        t = time.monotonic()
        get(rig.url + "/api/cluster_status")
        round_trip_ms = round((time.monotonic() - t) * 1000)

        env = {"HOME": os.path.join(tmp, "home"), "XDG_STATE_HOME": os.path.join(tmp, "state"),
               "XDG_CONFIG_HOME": os.path.join(tmp, "config")}
        if args.kubeconfig:
            env["KUBECONFIG"] = args.kubeconfig
        if os.environ.get("RAYTOP_LOG"):
            # e.g. info,raytop::event_loop=debug: each slow frame in raytop's log, with its view
            env["RAYTOP_LOG"] = os.environ["RAYTOP_LOG"]
        for d in ("home", "state", "config"):
            os.makedirs(os.path.join(tmp, d), exist_ok=True)
        figs = {}
        cmd = f"{args.raytop} --dashboard {rig.url} --refresh 1 --tune-dir {os.path.join(tmp, 'tune')}"
        session, pid, figs["raytop"] = run_tool("raytop", cmd, env, rig, args, out)
        outside = keys(session, args.keys)
        # The slow dashboard: the same window with every answer delayed.
        tmux("send-keys", "-t", session, "1")
        time.sleep(3)
        rig.slow(args.slow)
        time.sleep(args.slow * 2)
        rig.reset()
        w0 = time.monotonic()
        time.sleep(args.seconds)
        slow_stats = rig.stats()
        rig.slow(0)
        slow_minutes = (time.monotonic() - w0) / 60
        tmux("send-keys", "-t", session, "q")
        for _ in range(100):
            if not os.path.exists(f"/proc/{pid}"):
                break
            time.sleep(0.1)
        log = os.path.join(tmp, "state", "raytop", "raytop.log")
        stats = loop_stats(log)
        first_logged = [line for line in open(log) if "first populated frame" in line]
        r = figs["raytop"]
        r["keys_outside_ms"] = {"n": len(outside), "median": round(statistics.median(outside), 1), "p99": round(p99(outside), 1),
                                "max": round(max(outside), 1)}
        r["loop_stats"] = stats
        r["first_frame_logged"] = first_logged[-1].split("ms=")[-1].strip() if first_logged else None
        r["slow"] = {"delay_s": args.slow, "requests_per_min": round(sum(p["requests"] for p in slow_stats.values()) / slow_minutes, 1),
                     "max_in_flight": max((p["max_in_flight"] for p in slow_stats.values()), default=0),
                     "per_path": {k: round(v["requests"] / slow_minutes, 1) for k, v in slow_stats.items()}}
        if args.peer:
            session, _, figs["peer"] = run_tool("peer", f"{args.peer} --master {rig.url}", env, rig, args, out)
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        with open(os.path.join(out, "figures.json"), "w") as f:
            json.dump({"round_trip_ms": round_trip_ms, **figs}, f, indent=1)

        print(f"\none round trip of the usage answer: {round_trip_ms} ms")
        a, b = figs["raytop"], figs.get("peer")
        print(f"{'figure':<22}{'raytop':>12}{'peer 0.1':>12}{'ratio':>10}")
        for k in ("first_frame_ms", "cpu_pct_of_core", "rss_mb", "requests_per_min", "mb_per_min", "max_in_flight", "usage_max_gap_s"):
            bv = b[k] if b else None
            ratio = f"{a[k] / bv:.3f}" if isinstance(bv, (int, float)) and bv and isinstance(a[k], (int, float)) else "-"
            print(f"{k:<22}{str(a[k]):>12}{str(bv):>12}{ratio:>10}")
        for name, fig in figs.items():
            print(f"\n{name}: per endpoint (per minute, MB per minute, most in flight, longest gap s)")
            for path, p in sorted(fig["per_path"].items()):
                print(f"  {path:<32}{p['per_min']:>8}{p['mb_per_min']:>10}{p['max_in_flight']:>4}{p['max_gap_s']:>8}")
        print(f"\nraytop keys (views switched), outside via tmux: {a['keys_outside_ms']}")
        for s in stats:
            print(f"raytop loop stats: p99 frame {s.get('p99_draw_ms')} ms (rendering {s.get('p99_render_ms')} ms), "
                  f"max frame {s.get('max_draw_ms')} ms, "
                  f"keys {s.get('keys')} p99 {s.get('p99_key_ms')} ms max {s.get('max_key_ms')} ms, "
                  f"max update {s.get('max_update_ms')} ms, frames/s {s.get('frames_per_s')}")
        print(f"raytop first populated frame (its log, from process start): {a['first_frame_logged']} ms")
        print(f"slow dashboard ({args.slow} s a answer): {a['slow']['requests_per_min']} requests/min against "
              f"{a['requests_per_min']} at full speed; most in flight to one path {a['slow']['max_in_flight']}; "
              f"per path {a['slow']['per_path']}")
        print(f"\nfigures, screens and raytop's log under {out}")
        if out != tmp:
            shutil.copy(log, os.path.join(out, "raytop.log"))
        # Not a timing: an invariant the rig counts exactly.
        if a["max_in_flight"] > 1 or a["slow"]["max_in_flight"] > 1:
            sys.exit("raytop had two requests in flight to one endpoint")
    finally:
        rig.stop()


if __name__ == "__main__":
    main()
