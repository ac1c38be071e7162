# raytop's reader of Tune experiments on a Ray head, run there through `pods/exec` as
# `python3 -c <this text>`, with nothing interpolated into it: names travel only as data.
#
# It stays running and answers one request per line on stdin (JSON):
#   {"roots": [DIR, ...], "held": {KEY: [inode, size, mtime_ns]}, "budget": N, "chunk": N,
#    "max_state": N}
# "roots" are storage paths to look in besides the drivers' staging folders ("~" expanded).
# "held" (on a new session only) is what raytop's copy already holds, so a reconnect resends
# nothing; the reader then keeps it up to date itself. Each answer is a run of records, each a
# JSON header line, some followed by exactly "n" bytes of a file:
#   {"p": KEY, "at": OFFSET, "n": LEN, "size": SIZE, "held": [...]}
#                                 LEN bytes of the file from OFFSET, and what the copy now holds
#   {"p": KEY, "too_big": SIZE}                         a state file over the limit, not sent
#   {"gone": KEY}                                       no longer there
#   {"done": 1, "behind": BOOL, "exps": [[NAME, DIR], ...]}   the end of the answer
# KEY is EXPERIMENT/FILE or EXPERIMENT/TRIAL/FILE, the files being the newest
# experiment_state-*.json and each trial's result.json and error.txt. A result.json that grew
# on the same inode is sent from the size held; anything else whole.
import glob
import json
import os
import sys
import tempfile

out = sys.stdout.buffer
held = {}


def state_file(d):
    try:
        names = [e.name for e in os.scandir(d) if e.name.startswith("experiment_state-") and e.name.endswith(".json")]
    except OSError:
        return None
    return max(names) if names else None


def experiments(roots):
    """Experiment folders, by name: a driver's staging folder (written first, per result) wins
    over a storage path's copy of the same experiment."""
    found = {}
    # Ray's temp folder: RAY_TMPDIR or the system's, then ray/ (ray._private.utils).
    session = os.path.join(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir(), "ray", "session_latest")
    staging = sorted(glob.glob(os.path.join(glob.escape(session), "artifacts", "*", "*", "driver_artifacts")))
    for d in staging:
        if state_file(d):
            found[os.path.basename(os.path.dirname(d))] = d
    for base in (os.path.expanduser(r) for r in roots):
        if state_file(base):
            found.setdefault(os.path.basename(base), base)
            continue
        try:
            entries = sorted(os.scandir(base), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            if e.is_dir() and state_file(e.path):
                found.setdefault(e.name, e.path)
    return sorted(found.items())


def files(name, d):
    st = state_file(d)
    if st:
        yield name + "/" + st, os.path.join(d, st), False
    try:
        trials = sorted(os.scandir(d), key=lambda e: e.name)
    except OSError:
        return
    for t in trials:
        if not t.is_dir():
            continue
        for f in ("result.json", "error.txt"):
            yield name + "/" + t.name + "/" + f, os.path.join(t.path, f), f == "result.json"


def header(h):
    out.write(json.dumps(h, separators=(",", ":")).encode() + b"\n")


def answer(req):
    global held
    if "held" in req:
        held = {k: list(v) for k, v in req["held"].items()}
    budget, chunk, max_state = req["budget"], req["chunk"], req["max_state"]
    behind = False
    exps = experiments(req["roots"])
    seen = set()
    for name, d in exps:
        for key, path, appended in files(name, d):
            try:
                s = os.stat(path)
            except OSError:
                continue
            seen.add(key)
            now = [s.st_ino, s.st_size, s.st_mtime_ns]
            h = held.get(key)
            if h == now:
                continue
            if not appended and s.st_size > max_state:
                header({"p": key, "too_big": s.st_size})
                held[key] = now
                continue
            grown = appended and h is not None and h[0] == s.st_ino and s.st_size >= h[1]
            if grown and s.st_size == h[1]:
                held[key] = now
                continue
            if budget <= 0:
                behind = True
                continue
            start = h[1] if grown else 0
            want = s.st_size - start
            if appended:
                want = min(want, chunk, budget)
            try:
                with open(path, "rb") as f:
                    f.seek(start)
                    data = f.read(want)
            except OSError:
                continue
            done = start + len(data)
            # Held as read: a file read in part has no mtime, so it is read on next time.
            held[key] = [s.st_ino, done, s.st_mtime_ns if done >= s.st_size else -1]
            header({"p": key, "at": start, "n": len(data), "size": s.st_size, "held": held[key]})
            out.write(data)
            budget -= len(data)
            behind = behind or done < s.st_size
    for key in [k for k in held if k not in seen]:
        header({"gone": key})
        del held[key]
    header({"done": 1, "behind": behind, "exps": [[n, d] for n, d in exps]})
    out.flush()


for line in sys.stdin:
    if line.strip():
        answer(json.loads(line))
