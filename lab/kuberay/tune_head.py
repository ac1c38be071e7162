"""A small ASHA sweep run by a driver on a RayCluster's head, with its storage path on the head
itself (`/tmp/ray_results`, as the seed's example has it): for raytop's Tune-from-the-head test.
The test runs it through `kubectl exec HEAD -- python -c "<this file>" NAME`.

Four trials (x = 1..4), each reporting `score` = x * step 30 times, 0.5 s apart; ASHA (grace 10)
stops the weaker ones early. Two at a time on the lab's one worker (a quarter of a CPU each; its
768 MiB hold two trial processes, and Ray's memory monitor kills a fourth).
"""

import sys
import time

import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler


def trial(config):
    for step in range(1, 31):
        tune.report({"score": config["x"] * step, "step": step})
        time.sleep(0.5)


def main():
    name = sys.argv[1]
    ray.init(address="auto")
    tuner = tune.Tuner(
        tune.with_resources(trial, {"CPU": 0.25}),
        param_space={"x": tune.grid_search([1, 2, 3, 4])},
        tune_config=tune.TuneConfig(
            metric="score",
            mode="max",
            scheduler=ASHAScheduler(max_t=30, grace_period=10, reduction_factor=2),
            max_concurrent_trials=2,
        ),
        run_config=tune.RunConfig(name=name, storage_path="/tmp/ray_results"),
    )
    grid = tuner.fit()
    print(f"tune_head {name} finished: best {grid.get_best_result().metrics['score']}", flush=True)


if __name__ == "__main__":
    main()
