"""The node's HTTP server honouring its inbound faults (issue #12; the rules: ``nodes.faults``).

``honour_inbound`` runs first in every call of the ten methods (the admin API, health and file
downloads are spared, so that a faulty node can still be mended): it waits out a latency or
slowness; a cut closes the connection unanswered at once, a drop once the request's deadline
has passed (both a ``request.dropped`` event); an error fault is left to the caller, which
answers 99 (``nodes.errors.FaultInjected``). ``setup`` runs ``node[<id>].fault_expiry_loop``
for the app's lifetime.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.core.faults import Injected
from gateway.core.protocol import DEFAULT_DEADLINE_MS, HEADER_CALLER, HEADER_DEADLINE_MS
from nodes.context import NodeContext
from nodes.http.keys import CONTEXT
from nodes.http.middleware import REQUEST_ID

MAX_HOLD_MS = 60_000  # a dropped request is held at most this long (the largest deadline)


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_expiry_lifetime)


async def _expiry_lifetime(app: web.Application) -> AsyncIterator[None]:
    ctx = app[CONTEXT]
    name = f"node[{ctx.node_id}].fault_expiry_loop"
    task = asyncio.create_task(ctx.faults.expiry_loop(), name=name)
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class HungUp(web.HTTPServiceUnavailable):
    """The connection was closed on purpose; aiohttp finds nothing to write this to."""


async def honour_inbound(request: web.Request, ctx: NodeContext, client: str) -> Injected | None:
    """Apply the inbound rules matching this request (``client``: the caller's address, as the
    node takes it); what is left to answer (an error), or None."""
    if ctx.faults.table.empty:
        return None
    remote = request.remote or ""
    injected = ctx.faults.inbound(remote, request.headers.get(HEADER_CALLER), client=client)
    if injected is None:
        return None
    if injected.cut:
        _hang_up(request, ctx, injected, "cut")
    if injected.delay_s:
        await asyncio.sleep(injected.delay_s)
    if injected.drop:
        await asyncio.sleep(_deadline_ms(request) / 1000)
        _hang_up(request, ctx, injected, "drop")
    return injected


def _hang_up(request: web.Request, ctx: NodeContext, injected: Injected, how: str) -> None:
    ctx.events.emit(
        "request.dropped",
        request_id=request[REQUEST_ID],
        method=request.match_info.get("method", "")[:64],
        peer_ip=request.remote,
        reason=how,
        fault=injected.fault,
    )
    if request.transport is not None:
        request.transport.abort()
    raise HungUp()


def _deadline_ms(request: web.Request) -> int:
    try:
        deadline = int(request.headers.get(HEADER_DEADLINE_MS, DEFAULT_DEADLINE_MS))
    except ValueError:
        deadline = DEFAULT_DEADLINE_MS
    return max(1, min(MAX_HOLD_MS, deadline))
