"""Conditions lab/*.sh poll through wait_for: exit 0 when true, 1 when not.

Plain standard library, so it runs under any Python 3. Talks to the
dashboard like raytop does: no browser-like headers; adds the bearer token
when LAB_TOKEN_FILE names a non-empty file.

  check.py serve-app APP STATUS [RUNNING_REPLICAS]
  check.py app-absent APP         # Serve answers and has no app APP
  check.py event REGEX            # some cluster event message matches
  check.py gpu-nodes N            # >= N ALIVE nodes of type gpu-group
  check.py gpu-demand             # `ray status` text lists a pending GPU demand
  check.py show                   # one-line state summary (for logs)
"""

import json
import os
import re
import sys
import urllib.request

BASE = os.environ.get("LAB_DASHBOARD_URL", "http://127.0.0.1:8265")


def get(path):
    req = urllib.request.Request(BASE + path)
    token_file = os.environ.get("LAB_TOKEN_FILE", "")
    if token_file and os.path.isfile(token_file):
        token = open(token_file).read().strip()
        if token:
            req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=20) as resp:
        return json.load(resp)


def serve_app(app, status, replicas=None):
    apps = get("/api/serve/applications/").get("applications") or {}
    a = apps.get(app)
    if not a or a.get("status") != status:
        return False
    if replicas is None:
        return True
    running = sum(
        1
        for d in (a.get("deployments") or {}).values()
        for r in d.get("replicas") or []
        if r.get("state") == "RUNNING"
    )
    return running == int(replicas)


def events():
    d = get("/api/v0/cluster_events?limit=1000")
    return [e.get("message", "") for e in d["data"]["result"]["result"]]


def gpu_nodes():
    d = get("/nodes?view=summary")
    return sum(
        1
        for n in d["data"]["summary"]
        if (n.get("raylet") or {}).get("nodeTypeName") == "gpu-group"
        and (n.get("raylet") or {}).get("state") == "ALIVE"
    )


def status_text():
    return get("/api/cluster_status?format=1")["data"]["clusterStatus"] or ""


def gpu_demand():
    text = status_text()
    _, _, demands = text.partition("Pending Demands:")
    return "GPU" in demands


def main(argv):
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "serve-app":
            ok = serve_app(*args)
        elif cmd == "app-absent":
            apps = get("/api/serve/applications/").get("applications") or {}
            ok = args[0] not in apps
        elif cmd == "event":
            ok = any(re.search(args[0], m) for m in events())
        elif cmd == "gpu-nodes":
            ok = gpu_nodes() >= int(args[0])
        elif cmd == "gpu-demand":
            ok = gpu_demand()
        elif cmd == "show":
            apps = get("/api/serve/applications/").get("applications") or {}
            print(
                "gpu-group nodes: %d; gpu demand pending: %s; serve: %s"
                % (
                    gpu_nodes(),
                    gpu_demand(),
                    ", ".join("%s=%s" % (k, v.get("status")) for k, v in apps.items())
                    or "none",
                )
            )
            ok = True
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Exception as e:  # not up yet, 5xx, bad JSON: condition not met
        print("check %s: %s" % (cmd, e), file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
