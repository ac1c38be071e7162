"""Figures for raytop's logs against the live lab (lab/up.sh running; one Ray cluster):
  1. bytes and time for a 100-line tail of a 1 GiB log file, through lab/countproxy.py;
  2. `raytop logs` printing that whole file: its peak memory (every line is printed as it comes,
     so it must not grow with the file);
  3. the log pane following a job that prints 10,000 lines a second: raytop's CPU (% of one
     core) and resident memory each second, the pane's bound reached (oldest lines dropped),
     and raytop's own loop stats (p99 and worst frame) while it follows.
The 1 GiB file is written into the head's logs folder, where Ray's agent serves it, and removed.

usage: .lab/venv/bin/python lab/rig/log_figures.py --raytop target/release/raytop [--seconds 60]
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.dirname(HERE)
DASH = os.environ.get("RAYTOP_LAB_URL", "http://127.0.0.1:8265")
BIG = "/tmp/ray/session_latest/logs/raytop-big.log"


def get(path):
    with urllib.request.urlopen(DASH + path, timeout=30) as r:
        return json.load(r)


def post(path, body):
    req = urllib.request.Request(DASH + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def head_node():
    nodes = get("/api/v0/nodes")["data"]["result"]["result"]
    return next(n["node_id"] for n in nodes if n.get("is_head_node") and n.get("state") == "ALIVE")


def write_big(size):
    line = b"x" * 89 + b"\n"
    with open(BIG, "wb") as f:
        n, buf = 0, []
        while n * 100 < size:
            buf.append(b"%010d" % n + line)
            n += 1
            if len(buf) == 100_000:
                f.write(b"".join(buf))
                buf = []
        f.write(b"".join(buf))
    return n


def proc_sample(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return cpu, rss / 1024


def tmux(*args):
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raytop", required=True)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--size-gib", type=float, default=1.0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    raytop = os.path.abspath(args.raytop)
    tmp = tempfile.mkdtemp(prefix="raytop-logfig-")
    env = dict(os.environ, HOME=tmp, XDG_STATE_HOME=os.path.join(tmp, "state"), XDG_CONFIG_HOME=os.path.join(tmp, "config"))
    for k in ("KUBECONFIG", "RAY_ADDRESS", "RAYTOP_DASHBOARD", "RAY_AUTH_TOKEN"):
        env.pop(k, None)
    figs = {}
    node = head_node()
    t = time.monotonic()
    size = int(args.size_gib * (1 << 30))
    lines = write_big(size)
    print(f"wrote {BIG}: {os.path.getsize(BIG) / (1 << 30):.2f} GiB, {lines:,} lines, in {time.monotonic() - t:.0f} s", flush=True)
    port = 18265
    stats_file = os.path.join(tmp, "proxy.json")
    proxy = subprocess.Popen([sys.executable, os.path.join(LAB, "countproxy.py"), str(port), DASH.rsplit(":", 1)[1], stats_file])
    try:
        time.sleep(1.5)
        before = json.load(open(stats_file))
        t = time.monotonic()
        out = subprocess.run([raytop, "logs", "node", node, "--file", os.path.basename(BIG), "--tail", "100",
                              "--dashboard", f"http://127.0.0.1:{port}"], env=env, capture_output=True, text=True, timeout=120)
        wall = time.monotonic() - t
        time.sleep(1.5)
        after = json.load(open(stats_file))
        got = out.stdout.splitlines()
        assert out.returncode == 0 and len(got) == 100 and got[-1].startswith(f"{lines - 1:010d}"), (out.returncode, out.stderr, got[-1:])
        down = after["bytes_down"] - before["bytes_down"]
        figs["tail_100_of_1gib"] = {"bytes_down": down, "bytes_up": after["bytes_up"] - before["bytes_up"],
                                    "requests": after["requests"] - before["requests"], "wall_s": round(wall, 2),
                                    "file_bytes": os.path.getsize(BIG), "ratio": round(down / os.path.getsize(BIG), 8)}
        print(f"100-line tail of the 1 GiB file: {down:,} bytes down in {wall:.2f} s (1 request), "
              f"{down / os.path.getsize(BIG):.2e} of the file", flush=True)
    finally:
        proxy.kill()
    # 2. The whole file through `raytop logs`, to /dev/null: peak RSS.
    t = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", raytop, "logs", "node", node, "--file", os.path.basename(BIG),
                        "--dashboard", DASH], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=900)
    wall = time.monotonic() - t
    maxrss_kb, user, sys_s = r.stderr.strip().splitlines()[-1].split()
    figs["whole_1gib"] = {"exit": r.returncode, "wall_s": round(wall, 1), "max_rss_mb": round(int(maxrss_kb) / 1024, 1),
                          "cpu_s": round(float(user) + float(sys_s), 1), "mb_per_s": round(size / (1 << 20) / wall, 1)}
    print(f"whole 1 GiB file through raytop logs: exit {r.returncode}, {wall:.0f} s, peak RSS {int(maxrss_kb) / 1024:.1f} MiB, "
          f"CPU {float(user) + float(sys_s):.1f} s", flush=True)
    os.remove(BIG)
    # 3. The pane following 10,000 lines a second.
    seconds = args.seconds
    code = (f"import sys, time\nt0 = time.time()\ni = 0\nwhile time.time() - t0 < {seconds + 20}:\n"
            f"    sys.stdout.write(''.join(f'line {{i + k}} of the fast job, printing ten thousand a second\\n' for k in range(1000)))\n"
            f"    sys.stdout.flush()\n    i += 1000\n    time.sleep(max(0.0, t0 + i / 10000 - time.time()))\n")
    job = post("/api/jobs/", {"entrypoint": "python3 -u -c " + shlex.quote(code)})["submission_id"]
    session = f"raytop-logfig-{os.getpid()}"
    cmd = f"env HOME={tmp} XDG_STATE_HOME={tmp}/state XDG_CONFIG_HOME={tmp}/config {raytop} --dashboard {DASH} --refresh 1"
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "45", cmd)
    try:
        pid = int(tmux("list-panes", "-t", session, "-F", "#{pane_pid}").strip())
        time.sleep(3)
        tmux("send-keys", "-t", session, "6")
        time.sleep(2)
        tmux("send-keys", "-t", session, "/", job, "Enter", "l")
        deadline = time.monotonic() + 60
        while "● live" not in tmux("capture-pane", "-p", "-t", session):
            assert time.monotonic() < deadline, tmux("capture-pane", "-p", "-t", session)
            time.sleep(0.5)
        samples = []
        c0, _ = proc_sample(pid)
        t0 = time.monotonic()
        for _ in range(seconds):
            time.sleep(1)
            c, rss = proc_sample(pid)
            samples.append({"t": round(time.monotonic() - t0, 1), "cpu_pct": round((c - c0) * 100, 1), "rss_mb": round(rss, 1)})
            c0 = c
        screen = tmux("capture-pane", "-p", "-t", session)
        status = next((l.strip() for l in screen.splitlines() if " lines" in l and ("following" in l or "paused" in l)), "")
        tmux("send-keys", "-t", session, "q")
        for _ in range(50):
            if not os.path.exists(f"/proc/{pid}"):
                break
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        try:
            post(f"/api/jobs/{job}/stop", {})
        except Exception:  # noqa: BLE001 - it may have ended
            pass
    log = os.path.join(tmp, "state", "raytop", "raytop.log")
    stats = [l for l in open(log) if "loop stats" in l] if os.path.exists(log) else []
    cpu = [s["cpu_pct"] for s in samples]
    rss = [s["rss_mb"] for s in samples]
    figs["follow_10k_lines_per_s"] = {"seconds": seconds, "cpu_pct_mean": round(sum(cpu) / len(cpu), 1), "cpu_pct_max": max(cpu),
                                      "rss_mb_first": rss[0], "rss_mb_max": max(rss), "rss_mb_last": rss[-1],
                                      "pane_status": status, "loop_stats": stats[-1].strip() if stats else None, "samples": samples}
    print(f"pane following 10,000 lines/s for {seconds} s: CPU mean {sum(cpu) / len(cpu):.1f} % of a core (max {max(cpu)}), "
          f"RSS {rss[0]} -> max {max(rss)} -> {rss[-1]} MiB; pane: {status}", flush=True)
    if stats:
        print("raytop loop stats (last window):", stats[-1].split("loop stats")[0].split("INFO")[-1].strip(), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figs, f, indent=1)


if __name__ == "__main__":
    main()
