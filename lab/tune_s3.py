"""A small Tune sweep whose storage path is in S3 (the lab's moto server): for raytop's
`--tune-dir s3://…` tests. Credentials and endpoint come from the environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL); the bucket is made if missing.

    python lab/tune_s3.py s3://BUCKET/PREFIX NAME [REPORTS] [SLEEP]

Two trials (lr 0.1 and 0.2), each reporting `loss` = lr / step REPORTS times, SLEEP s apart.
Results reach the bucket with Tune's experiment snapshots (every 10 s or more), not per report.
"""

import os
import sys
import time

import boto3
import ray
from ray import tune

AWS_VARS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"]


def train_fn(config):
    for step in range(1, config["reports"] + 1):
        tune.report({"loss": config["lr"] / step, "step": step})
        time.sleep(config["sleep"])


def main():
    url, name = sys.argv[1], sys.argv[2]
    reports = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    sleep = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
    bucket = url.removeprefix("s3://").split("/", 1)[0]
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=bucket)
    # The trial workers see the same storage (they upload checkpoints themselves).
    ray.init(address="auto", runtime_env={"env_vars": {k: os.environ[k] for k in AWS_VARS}})
    tuner = tune.Tuner(
        # A tenth of a CPU each: the lab's GPU sweep keeps running beside it.
        tune.with_resources(train_fn, {"CPU": 0.1}),
        param_space={"lr": tune.grid_search([0.1, 0.2]), "reports": reports, "sleep": sleep},
        tune_config=tune.TuneConfig(metric="loss", mode="min"),
        run_config=tune.RunConfig(name=name, storage_path=url),
    )
    grid = tuner.fit()
    print(f"tune_s3 {name} finished: best {grid.get_best_result().metrics['loss']}", flush=True)


if __name__ == "__main__":
    main()
