"""A Ray Train V2 run for raytop's Train tests and demo: a DataParallelTrainer on a plain function
(no torch), its workers reporting a step every SLEEP seconds, with state tracking on so that the
dashboard serves it at /api/train/v2/runs/v1.

    python lab/train_run.py NAME [WORKERS] [STEPS] [SLEEP] [STORAGE]

Submitted through the Jobs API (the live tests do), it is a driver like any other. A worker
killed mid-run is restarted once (FailureConfig(max_failures=1)): a second attempt.
"""

import os
import sys
import time

# Read when the trainer is built: the driver's environment decides whether the run is tracked.
os.environ.setdefault("RAY_TRAIN_ENABLE_STATE_TRACKING", "1")

import ray  # noqa: E402
import ray.train  # noqa: E402
from ray.train import FailureConfig, RunConfig, ScalingConfig  # noqa: E402
from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer  # noqa: E402


def loop(config):
    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    for step in range(config["steps"]):
        print(f"[train {config['name']} rank {rank}] step {step} pid {os.getpid()}", flush=True)
        ray.train.report({"step": step, "loss": 1.0 / (step + 1)})
        time.sleep(config["sleep"])


def main():
    name = sys.argv[1]
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    sleep = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    storage = sys.argv[5] if len(sys.argv) > 5 else "/tmp/raytop-lab-train"
    ray.init(address=os.environ.get("RAY_ADDRESS", "auto"))
    trainer = DataParallelTrainer(
        loop,
        train_loop_config={"name": name, "steps": steps, "sleep": sleep},
        # A quarter CPU each: the lab's CPU group has room beside the Serve demo.
        scaling_config=ScalingConfig(num_workers=workers, resources_per_worker={"CPU": 0.25}),
        run_config=RunConfig(name=name, storage_path=storage, failure_config=FailureConfig(max_failures=1)),
    )
    result = trainer.fit()
    print(f"train {name} finished: {result.metrics}", flush=True)


if __name__ == "__main__":
    main()
