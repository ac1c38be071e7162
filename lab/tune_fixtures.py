"""Generate the Ray Tune experiment-directory fixtures in tests/fixtures/tune/.

Each experiment is a real `tune.Tuner(...).fit()` run of a tiny function
trainable, driven against a running Ray cluster (the lab: `lab/up.sh`,
`ray.init(address="auto")`). Afterwards the experiment dir is copied into the
fixture dir, keeping only what raytop reads:

    <name>/experiment_state-<ts>.json            (newest one)
    <name>/<trial dir>/result.json, params.json, error.txt (if any)

Files are byte-exact copies (shutil.copyfile); trial dir names are Tune's.

Experiments:
  grid       grid_search over 2 params (6 trials, BasicVariantGenerator ids
             `<5hex>_<5digits>`), TuneConfig(metric="score", mode="max"),
             ASHAScheduler(grace_period=1, reduction_factor=2, max_t=8): trials
             are cut at rungs 1/2/4, one reaches max_t (which ones varies by run)
  hexids     custom Searcher wrapped in ConcurrencyLimiter -> SearchGenerator
             ids (Trial.generate_id(): 8 hex chars), metric="loss", mode="min",
             4 trials
  errored    3 trials, one raises at iteration 3, FailureConfig(max_failures=0)
             -> status ERROR + error.txt; no metric/mode in TuneConfig
  nanmetric  metric="loss", mode="min"; one trial reports NaN (also as its last
             value), one reports inf -> NaN/Infinity literals in result.json
             and experiment_state
  partial    DERIVED (no Tune run): copy of the `grid` fixture in which one
             trial's result.json has its last line cut in half (no trailing
             newline), as seen while Tune is mid-write

Usage (lab up; the default fixture dir is tests/fixtures/tune of this repo):
    .lab/venv/bin/python lab/tune_fixtures.py /tmp/tune-fixture-runs
    .lab/venv/bin/python lab/tune_fixtures.py /tmp/runs --only grid partial
    .lab/venv/bin/python lab/tune_fixtures.py /tmp/runs --watch   # log how
        experiment_state-*.json is written (inode/size changes) during `grid`

STORAGE_PATH/<name> must not exist yet (the script refuses to reuse it).
RAY_AUTH_MODE defaults to "disabled" (set it yourself for an --auth lab).
Trial ids, timestamps, pids and timings differ on every run.
"""

import argparse
import glob
import math
import os
import pickle
import random
import shutil
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FIXTURES = os.path.join(REPO, "tests", "fixtures", "tune")
RUNS = ("grid", "hexids", "errored", "nanmetric")
DERIVED = ("partial",)
KEEP_FILES = ("result.json", "params.json", "error.txt")
# Small CPU ask so the fixture trials fit next to the lab's own sweep.
TRIAL_RESOURCES = {"CPU": 0.25}

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.schedulers import ASHAScheduler  # noqa: E402
from ray.tune.search import ConcurrencyLimiter, Searcher  # noqa: E402


# ---------------------------------------------------------------- trainables

def grid_fn(config):
    """score rises with the iteration; better configs also run faster, so they
    reach the ASHA rungs (1, 2, 4) first and the worse ones get cut at rung 1.
    lr=0.01,width=16 starts best but stalls (and pauses 2 s before iteration
    2, so the others reach rung 2 first): ASHA cuts it at rung 2."""
    quality = config["lr"] * 10 + config["width"] / 8  # 0.6 .. 12
    stall = config["lr"] == 0.01 and config["width"] == 16
    sleep = 0.15 + 0.6 / (1 + quality)
    for it in range(1, 9):
        time.sleep(sleep + (2.0 if stall and it == 2 else 0.0))
        score = round(20 + 0.1 * it if stall else quality * it, 4)
        tune.report({"score": score, "loss": round(1.0 / (1.0 + score), 6)})


def hexids_fn(config):
    for it in range(1, 7):
        time.sleep(0.2)
        loss = (1.0 + abs(math.log10(config["lr"]) + 2)) / (it * config["layers"])
        tune.report({"loss": round(loss, 6), "epoch": it})


def errored_fn(config):
    for it in range(1, 7):
        time.sleep(0.2)
        if config["fail"] and it == 3:
            raise ValueError(f"fixture failure at iteration {it} (seed={config['seed']})")
        tune.report({"acc": round(1 - 0.5 / (it + config["seed"]), 6), "step": it})


def nanmetric_fn(config):
    """kind=nan: loss NaN at iterations 2 and 5 (5 = last); kind=inf: loss inf
    at iteration 3 and -inf in `delta` at iteration 4; kind=ok: finite."""
    kind = config["kind"]
    for it in range(1, 6):
        time.sleep(0.2)
        loss, delta = 1.0 / it, -1.0 / (it * (it + 1))
        if kind == "nan" and it in (2, 5):
            loss = float("nan")
        if kind == "inf" and it == 3:
            loss = float("inf")
        if kind == "inf" and it == 4:
            delta = float("-inf")
        tune.report({"loss": loss, "delta": delta})


# ----------------------------------------------------------------- searcher

class TinyRandomSearcher(Searcher):
    """Seeded random search without third-party deps. Any Searcher runs under
    SearchGenerator, which names trials with Trial.generate_id() (8 hex)."""

    def __init__(self, seed=7, **kwargs):
        super().__init__(**kwargs)
        self._rng = random.Random(seed)
        self._live = {}

    def set_search_properties(self, metric, mode, config, **spec):
        if metric and not self._metric:
            self._metric = metric
        if mode and not self._mode:
            self._mode = mode
        return True

    def suggest(self, trial_id):
        cfg = {
            "lr": round(10 ** self._rng.uniform(-4, -1), 6),
            "layers": self._rng.choice([1, 2, 3]),
        }
        self._live[trial_id] = cfg
        return cfg

    def on_trial_complete(self, trial_id, result=None, error=False):
        self._live.pop(trial_id, None)

    def save(self, checkpoint_path):
        with open(checkpoint_path, "wb") as f:
            pickle.dump({"rng": self._rng.getstate(), "live": self._live}, f)

    def restore(self, checkpoint_path):
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        self._rng.setstate(state["rng"])
        self._live = state["live"]


# ---------------------------------------------------------------- experiments

def _run(name, storage, trainable, **kwargs):
    run_config = tune.RunConfig(
        name=name,
        storage_path=storage,
        failure_config=tune.FailureConfig(max_failures=0),
        verbose=1,
    )
    tuner = tune.Tuner(
        tune.with_resources(trainable, TRIAL_RESOURCES),
        run_config=run_config,
        **kwargs,
    )
    grid = tuner.fit()
    print(f"[tune_fixtures] {name}: {len(grid)} trials, {len(grid.errors)} errored",
          flush=True)


def run_grid(storage):
    _run(
        "grid", storage, grid_fn,
        param_space={
            "lr": tune.grid_search([0.01, 0.1, 1.0]),
            "width": tune.grid_search([4, 16]),
        },
        tune_config=tune.TuneConfig(
            metric="score",
            mode="max",
            scheduler=ASHAScheduler(grace_period=1, reduction_factor=2, max_t=8),
        ),
    )


def run_hexids(storage):
    _run(
        "hexids", storage, hexids_fn,
        tune_config=tune.TuneConfig(
            metric="loss",
            mode="min",
            num_samples=4,
            search_alg=ConcurrencyLimiter(TinyRandomSearcher(seed=7), max_concurrent=2),
        ),
    )


def run_errored(storage):
    _run(
        "errored", storage, errored_fn,
        param_space={
            "seed": tune.grid_search([0, 1, 2]),
            "fail": tune.sample_from(lambda spec: spec.config.seed == 1),
        },
    )


def run_nanmetric(storage):
    _run(
        "nanmetric", storage, nanmetric_fn,
        param_space={"kind": tune.grid_search(["nan", "inf", "ok"])},
        tune_config=tune.TuneConfig(metric="loss", mode="min"),
    )


# ---------------------------------------------------------------- copy / derive

def copy_fixture(exp_dir, dest):
    states = sorted(glob.glob(os.path.join(exp_dir, "experiment_state-*.json")))
    if not states:
        sys.exit(f"no experiment_state-*.json in {exp_dir}")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    # The file name holds the session start time (%Y-%m-%d_%H-%M-%S): newest sorts last.
    shutil.copyfile(states[-1], os.path.join(dest, os.path.basename(states[-1])))
    for entry in sorted(os.scandir(exp_dir), key=lambda e: e.name):
        if not entry.is_dir() or not os.path.exists(os.path.join(entry.path, "params.json")):
            continue
        os.makedirs(os.path.join(dest, entry.name))
        for fname in KEEP_FILES:
            src = os.path.join(entry.path, fname)
            if os.path.exists(src):
                shutil.copyfile(src, os.path.join(dest, entry.name, fname))


def derive_partial(fixtures):
    src, dest = os.path.join(fixtures, "grid"), os.path.join(fixtures, "partial")
    if not os.path.isdir(src):
        sys.exit(f"partial is derived from {src}, which does not exist")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(src, dest)
    # The trial with the most result lines (first by name on a tie).
    results = sorted(glob.glob(os.path.join(dest, "*", "result.json")))
    target = max(results, key=lambda p: (len(open(p, "rb").read().splitlines()), -results.index(p)))
    with open(target, "rb") as f:
        data = f.read()
    body = data[:-1] if data.endswith(b"\n") else data
    cut = body.rfind(b"\n") + 1  # start of the last line
    last = body[cut:]
    with open(target, "wb") as f:
        f.write(body[:cut] + last[: len(last) // 2])
    print(f"[tune_fixtures] partial: cut {os.path.relpath(target, fixtures)} "
          f"last line {len(last)} -> {len(last) // 2} bytes", flush=True)


# ---------------------------------------------------------------- watcher

def watch_states(dirs, stop, log):
    """Poll experiment_state-*.json in `dirs` (storage dir and the driver
    staging dir) and log every change of (inode, size, mtime)."""
    seen = {}
    while not stop.is_set():
        for d in list(dirs):
            for p in glob.glob(os.path.join(d, "experiment_state-*.json")):
                try:
                    st = os.stat(p)
                except FileNotFoundError:
                    continue
                key = (st.st_ino, st.st_size, st.st_mtime_ns)
                if seen.get(p) != key:
                    prev = seen.get(p)
                    what = "new" if prev is None else (
                        "REPLACED (new inode)" if prev[0] != st.st_ino else "rewritten in place")
                    log.append(f"{time.time():.3f} {p} ino={st.st_ino} size={st.st_size} {what}")
                    seen[p] = key
        time.sleep(0.005)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("storage_path", help="Tune storage_path for the runs (absolute)")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES, help="fixture output dir")
    ap.add_argument("--only", nargs="+", choices=RUNS + DERIVED, help="subset to (re)make")
    ap.add_argument("--address", default="auto", help="Ray cluster address (never local)")
    ap.add_argument("--watch", action="store_true",
                    help="log experiment_state writes (inode/size) during the grid run")
    args = ap.parse_args()

    storage = os.path.abspath(args.storage_path)
    todo = args.only or list(RUNS + DERIVED)
    runs = [n for n in RUNS if n in todo]
    for name in runs:
        if os.path.exists(os.path.join(storage, name)):
            sys.exit(f"{os.path.join(storage, name)} exists; pick a fresh storage_path")
    os.makedirs(args.fixtures, exist_ok=True)

    if runs:
        ray.init(address=args.address, log_to_driver=False)
    for name in runs:
        stop, log, watcher = threading.Event(), [], None
        if args.watch and name == "grid":
            # Watch the storage dir and the driver staging dir
            # (<session>/artifacts/<ts>/<name>/driver_artifacts), which appears
            # only once fit() starts; staging dirs of earlier runs are skipped.
            sess = ray._private.worker._global_node.get_session_dir_path()
            pattern = os.path.join(sess, "artifacts", "*", name, "driver_artifacts")
            stale = set(glob.glob(pattern))
            dirs = [os.path.join(storage, name)]
            watcher = threading.Thread(target=watch_states, args=(dirs, stop, log), daemon=True)

            def add_staging():
                while not stop.is_set():
                    for d in glob.glob(pattern):
                        if d not in stale and d not in dirs:
                            dirs.append(d)
                    time.sleep(0.05)
            threading.Thread(target=add_staging, daemon=True).start()
            watcher.start()
        globals()[f"run_{name}"](storage)
        if watcher:
            time.sleep(0.5)
            stop.set()
            watcher.join()
            print("[tune_fixtures] experiment_state writes:\n  " + "\n  ".join(log), flush=True)
        copy_fixture(os.path.join(storage, name), os.path.join(args.fixtures, name))
        print(f"[tune_fixtures] copied {name} -> {os.path.join(args.fixtures, name)}", flush=True)
    if "partial" in todo:
        derive_partial(args.fixtures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
