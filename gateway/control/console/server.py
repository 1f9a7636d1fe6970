"""The console's aiohttp app: the page (``static/``) and the JSON it reads.

- ``GET /``, ``GET /static/…``: the page, shipped in the package; it loads nothing from elsewhere;
- ``GET /api/network``: the topology (ids, tiers, parents, names) and the methods, in both
  languages of the page;
- ``GET /api/status``: the latest look at every node (``watch.StatusWatch``);
- ``POST /api/call`` ``{"node", "method", "params", "deadline_ms"?}``: a call as an application;
  the page shows the node's envelope whatever its code; a form that is not a call is a 400 with
  ``{"error"}``;
- ``GET /api/recent``: the recent calls, newest first.

and, from ``live``: ``GET /api/events`` (server-sent events of the network's event stream; the
page draws each entry node's ``request.handled`` with its tree of hops as it draws a call's
answer) and
``/api/faults`` (read, switched on and healed through the fault API).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType

import orjson
from aiohttp import web

from gateway.control.console.calls import CALLABLE, ConsoleCalls, FormInvalid, request_of
from gateway.control.console.live import add_live_routes
from gateway.control.console.watch import REFRESH_EVERY, StatusWatch
from gateway.control.launcher import Launcher

STATIC = Path(__file__).parent / "static"
LAUNCHER = web.AppKey("console.launcher", Launcher)
WATCH = web.AppKey("console.watch", StatusWatch)
CALLS = web.AppKey("console.calls", ConsoleCalls)
EVERY = web.AppKey("console.every", float)

# 7.3.2–7.3.10 by the standard's own names
METHOD_NAMES_ZH = MappingProxyType(
    {
        "GetCertificateFileByHolder": "基于证照持有主体代码下载服务",
        "GetCertificateFileByCertificateID": "基于证照标识下载服务",
        "GetCertificateDataByHolder": "基于证照持有主体代码信息获取服务",
        "GetCertificateDataByCertificateID": "基于证照标识信息获取服务",
        "VerifyCertificate": "电子证照信息验证服务",
        "GetCertificatePictureByCertificateID": "基于证照标识下载已转为图片的证照文件服务",
        "GetCertificatePictureByHolder": "基于证照持有主体代码下载已转为图片的证照文件服务",
        "GetCertificateType": "证照类型获取服务",
        "Retrieval": "证照检索服务",
    }
)


def create_console_app(launcher: Launcher, *, every: float = REFRESH_EVERY) -> web.Application:
    app = web.Application()
    app[LAUNCHER] = launcher
    app[EVERY] = every
    app.cleanup_ctx.append(_lifetime)
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/network", network)
    app.router.add_get("/api/status", status)
    app.router.add_post("/api/call", call)
    app.router.add_get("/api/recent", recent)
    add_live_routes(app, launcher)
    return app


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    """The status watch and the callers' sessions, for the app's lifetime."""
    launcher = app[LAUNCHER]
    async with (
        StatusWatch(launcher, every=app[EVERY]) as watch,
        ConsoleCalls(launcher.topology, launcher.state) as calls,
    ):
        app[WATCH], app[CALLS] = watch, calls
        yield


def _json(value: object, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json")


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def network(request: web.Request) -> web.Response:
    topology = request.app[LAUNCHER].topology
    nodes = [
        {"id": node.id, "tier": str(node.tier), "parent": node.parent, "name": node.name,
         "area_code": node.area_code, "url": node.url}
        for node in topology.nodes
    ]  # fmt: skip
    methods = [{"id": method, "zh": METHOD_NAMES_ZH[method]} for method in CALLABLE]
    return _json({"network": topology.network, "nodes": nodes, "methods": methods})


async def status(request: web.Request) -> web.Response:
    watch = request.app[WATCH]
    return _json((await watch.first()).as_dict())


async def call(request: web.Request) -> web.Response:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _json({"error": "the body must be JSON"}, status=400)
    try:
        form = request_of(body, request.app[LAUNCHER].topology)
    except FormInvalid as exc:
        return _json({"error": str(exc)}, status=400)
    return _json(await request.app[CALLS].make(form))


async def recent(request: web.Request) -> web.Response:
    return _json(list(request.app[CALLS].recent))
