"""Tune ASHA sweeps that keep the lab cluster busy (started by lab/up.sh).

Runs as a plain Python driver attached to the running cluster
(ray.init(address="auto")); submitting it as a Ray job with a working_dir
fails on fake-multinode workers. Each trial asks {CPU: 1, GPU: 1}, so the
trials land on the autoscaled gpu-group nodes and, with 12 trials against at
most 2 GPU nodes, the remaining trials stay as pending placement-group demand.

When a sweep finishes the next one starts (asha-sweep, asha-sweep-2, ...) so
the cluster stays live until lab/down.sh stops this process.
"""

import math
import os
import random
import sys
import time

import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler

EPOCH_SECONDS = float(os.environ.get("LAB_EPOCH_SECONDS", "3"))
NUM_SAMPLES = int(os.environ.get("LAB_NUM_SAMPLES", "12"))
MAX_EPOCHS = 20
STORAGE = os.environ["LAB_TUNE_STORAGE"]
MAX_SWEEPS = int(os.environ.get("LAB_MAX_SWEEPS", "0"))  # 0 = forever


def trial_id():
    try:
        return tune.get_context().get_trial_id()
    except Exception:  # noqa: BLE001 - a missing context must not fail the sweep
        return "?"


def train_fn(config):
    """A fake training loop: loss falls at a rate set by lr and batch_size."""
    lr, bs = config["lr"], config["batch_size"]
    # Best around lr=1e-2 and a mid-sized batch; noisy like a real curve.
    quality = abs(math.log10(lr) + 2.0) + abs(math.log2(bs) - 6) / 4
    rng = random.Random(hash((lr, bs)))
    for epoch in range(1, MAX_EPOCHS + 1):
        loss = (0.3 + quality) * math.exp(-epoch / 8) + 0.05 * quality
        loss += rng.uniform(-0.02, 0.02)
        accuracy = max(0.0, min(1.0, 1.0 - loss))
        time.sleep(EPOCH_SECONDS)
        # A line per epoch in the trial's worker output: what `raytop logs trial` must show.
        print(f"[trial {trial_id()}] epoch {epoch} loss {loss:.4f}", flush=True)
        tune.report({"loss": loss, "accuracy": accuracy, "epoch": epoch})


def run_sweep(name):
    tuner = tune.Tuner(
        tune.with_resources(train_fn, {"CPU": 1, "GPU": 1}),
        param_space={
            "lr": tune.loguniform(1e-4, 1e-1),
            "batch_size": tune.choice([16, 32, 64, 128]),
        },
        # metric/mode on the TuneConfig (not the scheduler) so the experiment state records the
        # metric (runner_data._metric), as most users' sweeps do.
        tune_config=tune.TuneConfig(
            num_samples=NUM_SAMPLES,
            metric="loss",
            mode="min",
            scheduler=ASHAScheduler(
                max_t=MAX_EPOCHS,
                grace_period=2,
                reduction_factor=2,
            ),
        ),
        run_config=tune.RunConfig(name=name, storage_path=STORAGE),
    )
    results = tuner.fit()
    best = results.get_best_result()
    print(f"[tune_sweep] {name} done: best loss {best.metrics.get('loss')}"
          f" config {best.config}", flush=True)


def main():
    ray.init(address="auto")
    n = 1
    while True:
        name = "asha-sweep" if n == 1 else f"asha-sweep-{n}"
        start = time.time()
        print(f"[tune_sweep] starting {name}", flush=True)
        run_sweep(name)
        print(f"[tune_sweep] {name} took {time.time() - start:.0f}s", flush=True)
        if MAX_SWEEPS and n >= MAX_SWEEPS:
            return 0
        n += 1


if __name__ == "__main__":
    sys.exit(main())
