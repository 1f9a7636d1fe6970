"""``GET /healthz``: 200 once the node serves (the launcher waits on it)."""

from __future__ import annotations

import os

from aiohttp import web

from nodes.http.keys import CONTEXT
from nodes.http.middleware import json_response


async def healthz(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return json_response({"status": "ready", "node": ctx.node_id, "pid": os.getpid()})
