"""A small Tune sweep whose storage path is in cloud storage (the lab's moto, fake-gcs-server or
Azurite): for raytop's `--tune-dir s3://…`, `gs://…` and `az://…` tests.

    python lab/tune_cloud.py URL NAME [REPORTS] [SLEEP]
    python lab/tune_cloud.py --download URL DIR     # every object under URL, into DIR
    python lab/tune_cloud.py --append URL LINE      # the first result.json under URL replaced
                                                    # by itself plus LINE, as Tune's next upload

URL is s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX; the bucket or
container is made if missing. Where the server is comes from the variables each cloud's tools
read: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL for S3;
STORAGE_EMULATOR_HOST for GCS (an emulator, no credentials); AZURE_STORAGE_CONNECTION_STRING for
Azure.

Two trials (lr 0.1 and 0.2), each reporting `loss` = lr / step REPORTS times, SLEEP s apart.
Results reach the storage with Tune's experiment snapshots (every 10 s or more), not per report.
"""

import os
import sys
import time

import pyarrow.fs
import ray
from ray import tune

AWS_VARS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"]


def train_fn(config):
    for step in range(1, config["reports"] + 1):
        tune.report({"loss": config["lr"] / step, "step": step})
        time.sleep(config["sleep"])


def azure_filesystem():
    """pyarrow's Azure filesystem from a connection string (pyarrow reads none itself)."""
    parts = dict(p.split("=", 1) for p in os.environ["AZURE_STORAGE_CONNECTION_STRING"].split(";") if "=" in p)
    endpoint = parts["BlobEndpoint"]
    scheme, rest = endpoint.split("://", 1)
    # An emulator's endpoint is path-style (host:port/ACCOUNT): pyarrow wants the host alone.
    authority = rest.split("/", 1)[0]
    return pyarrow.fs.AzureFileSystem(
        account_name=parts["AccountName"],
        account_key=parts["AccountKey"],
        blob_storage_authority=authority,
        dfs_storage_authority=authority,
        blob_storage_scheme=scheme,
        dfs_storage_scheme=scheme,
    )


def filesystem(url):
    """(pyarrow filesystem, path in it) of a storage URL, as Tune is given it."""
    path, fs = storage(url, make=False)
    if fs is None:
        fs, path = pyarrow.fs.FileSystem.from_uri(url)
    return fs, path


def download(url, into):
    fs, path = filesystem(url)
    for info in fs.get_file_info(pyarrow.fs.FileSelector(path, recursive=True)):
        if info.type != pyarrow.fs.FileType.File:
            continue
        local = os.path.join(into, info.path[len(path) :].lstrip("/"))
        os.makedirs(os.path.dirname(local), exist_ok=True)
        with fs.open_input_stream(info.path) as src, open(local, "wb") as dst:
            dst.write(src.read())


def append(url, line):
    fs, path = filesystem(url)
    infos = fs.get_file_info(pyarrow.fs.FileSelector(path, recursive=True))
    first = sorted(i.path for i in infos if i.path.endswith("/result.json"))[0]
    with fs.open_input_stream(first) as src:
        body = src.read()
    with fs.open_output_stream(first) as dst:
        dst.write(body + line.encode())
    print(first)


def storage(url, make=True):
    """(storage_path, storage_filesystem) for Tune, the bucket or container made if missing."""
    scheme, rest = url.split("://", 1)
    bucket = rest.split("/", 1)[0]
    if scheme == "s3":
        import boto3

        s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        if make and bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
            s3.create_bucket(Bucket=bucket)
        # pyarrow resolves s3:// itself and honours AWS_ENDPOINT_URL.
        return url, None
    if scheme == "gs":
        # Making a bucket needs a project, which an emulator ignores.
        os.environ.setdefault("GOOGLE_CLOUD_PROJECT", "raytop-lab")
        host = os.environ["STORAGE_EMULATOR_HOST"]
        http, _, authority = host.rpartition("://")
        fs = pyarrow.fs.GcsFileSystem(anonymous=True, endpoint_override=authority, scheme=http or "http")
    elif scheme == "az":
        fs = azure_filesystem()
    else:
        sys.exit(f"not a storage path this script writes: {url}")
    if make and fs.get_file_info(bucket).type == pyarrow.fs.FileType.NotFound:
        fs.create_dir(bucket)
    return rest, fs


def main():
    if sys.argv[1] == "--download":
        return download(sys.argv[2], sys.argv[3])
    if sys.argv[1] == "--append":
        return append(sys.argv[2], sys.argv[3])
    url, name = sys.argv[1], sys.argv[2]
    reports = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    sleep = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
    storage_path, filesystem = storage(url)
    # The trial workers see the same storage (they upload checkpoints themselves).
    env = {k: os.environ[k] for k in AWS_VARS if k in os.environ}
    ray.init(address="auto", runtime_env={"env_vars": env})
    tuner = tune.Tuner(
        # A tenth of a CPU each: the lab's GPU sweep keeps running beside it.
        tune.with_resources(train_fn, {"CPU": 0.1}),
        param_space={"lr": tune.grid_search([0.1, 0.2]), "reports": reports, "sleep": sleep},
        tune_config=tune.TuneConfig(metric="loss", mode="min"),
        run_config=tune.RunConfig(name=name, storage_path=storage_path, storage_filesystem=filesystem),
    )
    grid = tuner.fit()
    print(f"tune_cloud {name} finished: best {grid.get_best_result().metrics['loss']}", flush=True)


if __name__ == "__main__":
    main()
