"""Kills one running replica of a Serve deployment in the lab, as a crash would (ray.kill, no
restart by Ray: Serve's controller notices, marks it unhealthy and starts a replacement).

usage: .lab/venv/bin/python lab/kill_replica.py APP DEPLOYMENT
Prints the killed replica's id. The lab's GCS is on 127.0.0.1:6379 (the fake provider's port).
"""

import os
import sys

import ray
from ray.util.state import list_actors


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    app, deployment = sys.argv[1:]
    ray.init(address=os.environ.get("RAY_ADDRESS", "127.0.0.1:6379"), namespace="serve", logging_level="ERROR")
    prefix = f"SERVE_REPLICA::{app}#{deployment}#"
    alive = sorted(a.name for a in list_actors(filters=[("state", "=", "ALIVE")]) if (a.name or "").startswith(prefix))
    if not alive:
        sys.exit(f"no running replica of {app}/{deployment}")
    ray.kill(ray.get_actor(alive[0], namespace="serve"), no_restart=True)
    print(alive[0][len(prefix):])


if __name__ == "__main__":
    main()
