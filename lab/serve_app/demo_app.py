"""Serve application for the raytop lab (deployed by lab/up.sh).

Found by Serve through runtime_env.env_vars.PYTHONPATH pointing at this
folder. Demo deliberately has no `reconfigure` method: the config in
demo-broken.yaml gives it a `user_config`, which makes every replica fail at
startup and the app end in DEPLOY_FAILED (used by lab/serve-fail.sh).
"""

import os

from ray import serve
from starlette.requests import Request


@serve.deployment
class Demo:
    def __init__(self):
        self.pid = os.getpid()

    async def __call__(self, request: Request) -> dict:
        body = await request.body()
        # One line per request in the replica's output: what `raytop logs replica` must show.
        print(f"[demo] request {body.decode(errors='replace')}", flush=True)
        return {"pid": self.pid, "echo": body.decode(errors="replace")}


app = Demo.bind()
