"""What the console shows as it happens: the event stream and the fault switches.

- ``GET /api/events``: server-sent events, one ``data:`` line a record of the network's event
  stream (``gateway.control.events``) written since the page connected, of the kinds the page
  shows (``SHOWN``): requests handled, catalog batches going up, anomalies going down, faults;
  an entry node's ``request.handled`` carries the request's ``tree`` of hops, and a
  ``route.tree`` record follows when a forward seen later changes it (``hops.RouteBook``);
- ``GET /api/faults``: the faults in force (``Faults.list``), each with its seconds left;
- ``POST /api/faults`` a fault spec (``FaultSpec``'s fields): applied; a spec that is not a
  fault of this network, or that the network cannot take, is a 400 with ``{"error"}``;
- ``DELETE /api/faults/{id}``: healed now; 404 when no such fault is in force.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from gateway.control.console.hops import RouteBook
from gateway.control.errors import FaultError, FaultNotFound
from gateway.control.events import POLL_EVERY, EventTail
from gateway.control.faults import FaultRecord, Faults, FaultSpec
from gateway.control.launcher import Launcher
from gateway.core.topology import Topology

SHOWN = ("request.handled", "request.forwarded", "batch.", "anomaly.", "fault.")
KEEPALIVE_EVERY = 5.0  # seconds of quiet before a comment line keeps the stream (and checks it)
FAULTS = web.AppKey("console.faults", Faults)
TOPOLOGY = web.AppKey("console.topology", Topology)


def add_live_routes(app: web.Application, launcher: Launcher) -> None:
    app[FAULTS] = Faults(launcher, by="console")
    app[TOPOLOGY] = launcher.topology
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/faults", faults_in_force)
    app.router.add_post("/api/faults", fault_add)
    app.router.add_delete("/api/faults/{fault_id}", fault_clear)


def _shown(record: dict[str, Any]) -> bool:
    name = str(record.get("event", ""))
    return any(name == kind or (kind.endswith(".") and name.startswith(kind)) for kind in SHOWN)


async def events(request: web.Request) -> web.StreamResponse:
    """The stream from now on, until the page goes away (or the console stops)."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    await response.write(b": connected\n\n")
    tail = EventTail(request.app[FAULTS].state, from_start=False)
    book = RouteBook(request.app[TOPOLOGY])
    quiet = 0.0
    try:
        while True:
            shown = [sent for record in tail.read_new() if _shown(record)
                     for sent in book.take(record)]  # fmt: skip
            if shown:  # one write a look: a burst is one chunk, not one each
                await response.write(b"".join(b"data: " + orjson.dumps(r) + b"\n\n" for r in shown))
            quiet = 0.0 if shown else quiet + POLL_EVERY
            if quiet >= KEEPALIVE_EVERY:  # a page that went away is seen at the next write
                await response.write(b": still here\n\n")
                quiet = 0.0
            await asyncio.sleep(POLL_EVERY)
    except ConnectionResetError:  # the page went away
        pass
    return response


def _json(value: object, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json")


def fault_view(record: FaultRecord, now: datetime) -> dict[str, Any]:
    spec = record.spec
    return {
        "id": record.id,
        "kind": str(spec.kind),
        "node": spec.node,
        "peer": spec.peer,
        "text": spec.describe(),
        "nodes": sorted({*record.nodes, *(n for n in (spec.node, spec.peer) if n)}),
        "time_left": record.time_left(now),
        "by": record.by,
    }


async def faults_in_force(request: web.Request) -> web.Response:
    now = datetime.now(UTC)
    return _json([fault_view(record, now) for record in await request.app[FAULTS].list()])


async def fault_add(request: web.Request) -> web.Response:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _json({"error": "the body must be JSON"}, status=400)
    if not isinstance(body, dict):
        return _json({"error": "a fault is a JSON object"}, status=400)
    spec = {name: value for name, value in body.items() if value not in (None, "")}
    try:
        record = await request.app[FAULTS].add(FaultSpec.parse(spec))
    except FaultError as exc:
        return _json({"error": str(exc)}, status=400)
    return _json(fault_view(record, datetime.now(UTC)))


async def fault_clear(request: web.Request) -> web.Response:
    try:
        record = await request.app[FAULTS].clear(request.match_info["fault_id"])
    except FaultNotFound as exc:
        return _json({"error": str(exc)}, status=404)
    except FaultError as exc:
        return _json({"error": str(exc)}, status=400)
    return _json(fault_view(record, datetime.now(UTC)))
