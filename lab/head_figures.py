#!/usr/bin/env python3
"""What watching the lab costs its head, per console, each alone against the same running lab:
raytop (a view), the `raytop` 0.1 crate (the peer, where .lab/peer has it), and one tab of the Ray
web dashboard in a real browser (Debian's Chromium, headless) on its Overview and Cluster pages.

Per subject, over the same window (after a few seconds to settle): requests and KB per minute
through a counting proxy in front of the dashboard (lab/countproxy.py, per path too), and the CPU
seconds per minute of the head's dashboard processes (`dashboard.py` and its `ray-dashboard-*`
module processes), less what they spent in a window with nothing watching (the quiet lab: its
own Tune sweep, Serve app and autoscaler still run).

usage: lab/up.sh && .lab/venv/bin/python lab/head_figures.py --raytop BIN [--raytop BIN2 ...]
           [--view KEYS] [--seconds S] [--settle S] [--out FILE]

--view takes one key or several (1,2,3,4,5,6): each binary is measured in each view, alone. At the
end, each raytop row as a ratio of the peer's and of the tab's figures from this same run.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HZ = os.sysconf("SC_CLK_TCK")
DASHBOARD_PORT = int(os.environ.get("RAYTOP_LAB_PORT", "8265"))
# Chromium as the machine's probe starts it: no network but the page's own.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1000"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dashboard_pids():
    """The head's dashboard processes: dashboard.py and the module processes it starts."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ray/dashboard/dashboard.py" in cmd or cmd.startswith("ray-dashboard-"):
            pids.append(int(pid))
    return pids


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total / HZ


class Proxy:
    def __init__(self):
        self.port = free_port()
        self.stats = tempfile.mktemp(suffix=".json")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "countproxy.py"), str(self.port),
                                      str(DASHBOARD_PORT), self.stats])
        for _ in range(100):
            if os.path.exists(self.stats):
                return
            time.sleep(0.1)
        raise SystemExit("the counting proxy did not start")

    def read(self):
        for _ in range(20):
            try:
                with open(self.stats) as f:
                    return json.load(f)
            except (OSError, ValueError):
                time.sleep(0.05)
        raise SystemExit("cannot read the proxy's stats")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def tmux_subject(name, cmd):
    session = f"head-figures-{name}"
    subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL)
    subprocess.run(["tmux", "new-session", "-d", "-x", "160", "-y", "50", "-s", session, cmd], check=True)
    return lambda: subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL)


def measure(name, start, seconds, settle, quiet_cpu):
    """Starts a subject against a fresh proxy (`start(url)` returns its stop), waits `settle`,
    then counts over `seconds`."""
    proxy = Proxy()
    stop = start(f"http://127.0.0.1:{proxy.port}")
    try:
        time.sleep(settle)
        pids = dashboard_pids()
        s0, c0, t0 = proxy.read(), cpu_seconds(pids), time.time()
        time.sleep(seconds)
        s1, c1, t1 = proxy.read(), cpu_seconds(pids), time.time()
    finally:
        stop()
        proxy.stop()
    minutes = (t1 - t0) / 60
    paths = {p: round((n - s0["paths"].get(p, 0)) / minutes, 1) for p, n in s1["paths"].items()}
    cpu = (c1 - c0) / minutes
    row = {
        "subject": name,
        "requests_per_min": round((s1["requests"] - s0["requests"]) / minutes, 1),
        "kb_per_min": round((s1["bytes_down"] - s0["bytes_down"]) / minutes / 1000, 1),
        "head_cpu_s_per_min": round(cpu, 2),
        "head_cpu_s_per_min_over_quiet": None if quiet_cpu is None else round(cpu - quiet_cpu, 2),
        "paths_per_min": {p: v for p, v in sorted(paths.items()) if v},
    }
    print(json.dumps(row), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raytop", action="append", required=True, help="a raytop binary (repeatable)")
    ap.add_argument("--view", default="1", help="raytop's view keys, comma-separated (1 Cluster, 2 Autoscaler, ...)")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--settle", type=int, default=8)
    ap.add_argument("--out")
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    rows = []
    quiet = measure("quiet lab", lambda url: (lambda: None), args.seconds, 0, None)
    rows.append(quiet)
    quiet_cpu = quiet["head_cpu_s_per_min"]

    views = [v for v in args.view.split(",") if v]
    for i, binary in enumerate(args.raytop):
        for view in views:
            def start(url, binary=binary, i=i, view=view):
                home = tempfile.mkdtemp()
                stop = tmux_subject(f"raytop{i}", f"env -i PATH={os.environ['PATH']} HOME={home} TERM=xterm-256color "
                                    f"{binary} --dashboard {url} --refresh 1")
                time.sleep(1)
                subprocess.run(["tmux", "send-keys", "-t", f"head-figures-raytop{i}", view])
                return stop
            rows.append(measure(f"raytop {binary} (view {view}, --refresh 1)", start, args.seconds, args.settle,
                                quiet_cpu))

    peer = os.path.join(ROOT, ".lab", "peer", "bin", "raytop")
    if os.access(peer, os.X_OK):
        rows.append(measure("raytop 0.1 crate (the peer)",
                            lambda url: tmux_subject("peer", f"{peer} --master {url}"),
                            args.seconds, args.settle, quiet_cpu))

    if chromium:
        for page in ("overview", "cluster"):
            def start(url, page=page):
                profile = tempfile.mkdtemp()
                proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"{url}/#/{page}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

                def stop():
                    proc.terminate()
                    proc.wait()
                    shutil.rmtree(profile, ignore_errors=True)
                return stop
            rows.append(measure(f"web dashboard tab, {page} page (Chromium)", start, args.seconds, args.settle,
                                quiet_cpu))
    else:
        print("no chromium: apt-get install chromium for the browser's figures", file=sys.stderr)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)
    ratios(rows)


def ratios(rows):
    """Each raytop row against the peer and the tab's pages, figure by figure."""
    anchors = {r["subject"].split(" (")[0].split(",")[-1].strip(): r for r in rows
               if r["subject"].startswith(("raytop 0.1", "web dashboard"))}
    keys = ("requests_per_min", "kb_per_min", "head_cpu_s_per_min_over_quiet")
    print(f"\n{'raytop row / anchor':<60}" + "".join(f"{k:>32}" for k in keys))
    for r in rows:
        if not r["subject"].startswith("raytop ") or r["subject"].startswith("raytop 0.1"):
            continue
        for name, a in anchors.items():
            cells = "".join(f"{(r[k] / a[k] if a[k] else float('nan')):>32.3f}" for k in keys)
            print(f"{r['subject'][-40:] + ' / ' + name:<60}{cells}")


if __name__ == "__main__":
    main()
