"""Builds tests/fixtures/dashboard/gpu-physical/ from the lab's v1-busy capture: the lab's GPUs are
logical (`gpus: []`), so physical GPU stats are added to the two gpu-group nodes in the field
shapes Ray 2.60's node agent reports (`/nodes?view=summary` `gpus[]`: index, name, uuid,
utilizationGpu, memoryUsed/memoryTotal in MB, processesPids [{pid, gpuMemoryUsage}], powerMw,
temperatureC). The processes are the pids of the two trial actors in the same capture, so the
GPU-to-trial join can be tested. One GPU is busy, the other idle while held.

Usage: python3 lab/make_gpu_fixture.py   (from the repo root; rewrites the folder)"""

import json
import pathlib
import shutil

SRC = pathlib.Path("tests/fixtures/dashboard/v1-busy")
DST = pathlib.Path("tests/fixtures/dashboard/gpu-physical")
DST.mkdir(parents=True, exist_ok=True)

actors = json.loads((SRC / "actors.json").read_text())["data"]["result"]["result"]
trial_pid_by_node = {a["node_id"]: a["pid"] for a in actors if a["class_name"] == "ImplicitFunc"}

nodes = json.loads((SRC / "nodes_summary.json").read_text())
busy = True
for item in nodes["data"]["summary"]:
    raylet = item["raylet"]
    if raylet.get("nodeTypeName") != "gpu-group":
        continue
    pid = trial_pid_by_node.get(raylet["nodeId"])
    item["gpus"] = [{
        "index": 0,
        "name": "NVIDIA A100-SXM4-80GB",
        "uuid": "GPU-" + raylet["nodeId"][-12:],
        "utilizationGpu": 93 if busy else 0,
        "memoryUsed": 30720.0 if busy else 2048.0,
        "memoryTotal": 81920.0,
        "processesPids": [{"pid": pid, "gpuMemoryUsage": 30000.0 if busy else 1900.0}] if pid else [],
        "powerMw": 310000 if busy else 61000,
        "temperatureC": 64 if busy else 33,
    }]
    busy = False

(DST / "nodes_summary.json").write_text(json.dumps(nodes))
for name in ["actors.json", "version.json", "cluster_status.json", "cluster_events.json", "serve_applications.json"]:
    shutil.copy(SRC / name, DST / name)
print(f"wrote {DST}")
