"""Captures the Train V2 fixtures of tests/fixtures/dashboard/train/ from the running lab
(lab/up.sh): the answer before any tracked run, then a 2-worker run of lab/train_run.py
submitted through the Jobs API while it runs, 3 s after its rank 1 worker is killed, once the
second attempt runs, and after it finished.

    .lab/venv/bin/python lab/capture_train.py OUTDIR

Run it on a fresh lab: once any run has turned tracking on, the state actor stays (detached).
"""

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

DASH = os.environ.get("RAYTOP_LAB_DASHBOARD", "http://127.0.0.1:8265")
HERE = os.path.dirname(os.path.abspath(__file__))
ROUTE = "/api/train/v2/runs/v1"


def get(path):
    try:
        with urllib.request.urlopen(DASH + path, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def save(out, name, status, body):
    with open(os.path.join(out, name + ".json"), "wb") as f:
        f.write(body)
    status_file = os.path.join(out, name + ".status")
    if status != 200:
        with open(status_file, "w") as f:
            f.write(f"{status}\n")
    elif os.path.exists(status_file):
        os.remove(status_file)
    print(f"{name}: {status}, {len(body)} bytes", flush=True)


def runs():
    status, body = get(ROUTE)
    return status, body, (json.loads(body)["train_runs"] if status == 200 else [])


def wait_for(what, test, limit=240):
    t0 = time.time()
    while time.time() - t0 < limit:
        status, body, rs = runs()
        if rs and test(rs[0]):
            return status, body, rs[0]
        time.sleep(1)
    sys.exit(f"timed out waiting for {what}")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    save(out, "untracked", *get(ROUTE))
    python = sys.executable
    entry = f"{python} {HERE}/train_run.py fixture-run 2 60 1"
    body = {"entrypoint": entry, "runtime_env": {"env_vars": {"RAY_TRAIN_ENABLE_STATE_TRACKING": "1"}}}
    req = urllib.request.Request(DASH + "/api/jobs/", json.dumps(body).encode(), {"Content-Type": "application/json"})
    print(urllib.request.urlopen(req, timeout=30).read().decode(), flush=True)

    def two_alive(r):
        a = r["attempts"]
        return r["status"] == "RUNNING" and a and sum(w["status"] == "ALIVE" for w in a[-1]["workers"]) == 2

    wait_for("the run with 2 workers", two_alive)
    time.sleep(3)  # a few reports in
    status, body, rs = runs()
    run = rs[0]
    save(out, "running", status, body)
    rank1 = next(w for w in run["attempts"][-1]["workers"] if w["world_rank"] == 1)
    os.kill(rank1["pid"], signal.SIGKILL)  # the lab's workers run on this machine
    time.sleep(3)
    save(out, "killed", *get(ROUTE))
    status, body, _ = wait_for("the second attempt running", lambda r: len(r["attempts"]) == 2 and two_alive(r))
    save(out, "restarted", status, body)
    status, body, _ = wait_for("the run finished", lambda r: r["status"] in ("FINISHED", "ERRORED", "ABORTED"), 300)
    save(out, "finished", status, body)


if __name__ == "__main__":
    main()
