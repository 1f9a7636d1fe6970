"""Run one node: assemble it, serve HTTP, run the exchange loops, stop on demand.

``assembled(settings)`` builds everything a node is, once, in an ``AsyncExitStack``: its store,
context (clock, wake-ups), forwarder (its neighbours), cascade, aggregation and app. Nothing is
kept at module level, so several nodes could be assembled in one process and share nothing;
``serve`` gives one of them a socket; ``nodes.host`` runs several in one process.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial

import structlog
from aiohttp import web

from gateway.core.events import EventLog, node_events_path
from gateway.core.forwarder import Forwarder
from nodes.authorisation.honour import Authorised
from nodes.authorisation.index import grant_index
from nodes.cascade import Cascade
from nodes.catalog.lifetime import aggregation
from nodes.clock import Clock
from nodes.context import NodeContext
from nodes.errors import NodeStartFailed
from nodes.http.app import create_app, node_metrics
from nodes.http.keys import CONTEXT
from nodes.http.listener import ConnectionLimits, listen
from nodes.http.middleware import REQUEST_IDS
from nodes.preparation import prepare
from nodes.relay import FileRelay
from nodes.reminders import reminders
from nodes.settings import NodeSettings
from nodes.sharing.local import answer_locally
from nodes.store.store import Store

log = structlog.get_logger()
CUT_WITHIN = 0.001  # seconds a request in flight is given when its node is aborted


@dataclass(frozen=True, slots=True)
class ServedNode:
    """A node that listens: its app (and through it its context) and the port it got."""

    app: web.Application
    port: int

    @property
    def ctx(self) -> NodeContext:
        return self.app[CONTEXT]


async def serve(
    settings: NodeSettings,
    *,
    shutdown_trigger: Callable[[], Awaitable[object]],
    clock: Clock | None = None,
    on_served: asyncio.Future[ServedNode] | None = None,
) -> None:
    """Serve until ``shutdown_trigger`` returns; everything started here is stopped here.

    Cancelled instead (``NodeHost.abort``), the node ends as a crash would: its connections are
    cut at once, no request is waited for and no ``node.stopped`` is written.
    """
    async with assembled(settings, clock=clock) as app:
        events = app[CONTEXT].events
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        aborted = False
        listener: asyncio.Server | None = None
        try:
            listener = await _listen(runner, settings)
            log.info("node.started", url=settings.node.url, tier=settings.node.tier)
            events.emit("node.started", url=settings.node.url, pid=os.getpid())
            if on_served is not None:
                on_served.set_result(ServedNode(app, listener.sockets[0].getsockname()[1]))
            await shutdown_trigger()
        except asyncio.CancelledError:
            aborted = True
            if (task := asyncio.current_task()) is not None:
                task.uncancel()  # handled here: the cut below must not be cancelled in turn
            raise
        finally:
            if listener is not None:
                listener.close()  # no new connections
            if aborted:
                await _cut(runner)
            else:
                await runner.cleanup()
                events.emit("node.stopped")
    log.info("node.stopped")


async def _listen(runner: web.AppRunner, settings: NodeSettings) -> asyncio.Server:
    """The node's socket (``nodes.http.listener``); a taken address fails the start, named."""
    limits = ConnectionLimits(
        per_address=settings.connections_per_address,
        head_within=settings.head_within,
        idle_within=settings.idle_within,
    )
    try:
        return await listen(
            runner,
            settings.node.host,
            settings.node.port,
            node_id=settings.node_id,
            limits=limits,
            request_ids=runner.app[REQUEST_IDS],
        )
    except OSError as exc:
        address = f"{settings.node.host}:{settings.node.port}"
        log.error("node.bind_failed", address=address, error=exc.strerror or str(exc))
        raise NodeStartFailed(f"cannot listen on {address}") from None


async def _cut(runner: web.AppRunner) -> None:
    """Drop every connection now, as the end of a process would (the listener is closed)."""
    if runner.server is not None:
        await runner.server.shutdown(CUT_WITHIN)  # 0 would mean "no limit" to aiohttp
    await runner.cleanup()


@asynccontextmanager
async def assembled(
    settings: NodeSettings, *, clock: Clock | None = None
) -> AsyncIterator[web.Application]:
    """The node's app, with everything it stands on open for the duration of the block."""
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(Store.open(settings.database_path))
        events_path = node_events_path(settings.state_dir, settings.node_id)
        events = await stack.enter_async_context(EventLog(events_path, node=settings.node_id))
        ctx = NodeContext(
            settings=settings,
            store=store,
            clock=clock or Clock(settings.topology.zone),
            events=events,
        )
        await ready_to_serve(ctx)
        forwarder = await stack.enter_async_context(
            Forwarder(
                settings.topology,
                settings.node_id,
                link_keys=settings.link_keys,
                faults=ctx.faults.table,
                events=ctx.events,
            )
        )
        file_relay = FileRelay(ctx, forwarder)
        metrics = node_metrics(ctx)
        cascade = Cascade(
            settings.topology,
            settings.node_id,
            neighbours=metrics.metered(forwarder),
            index=store.routes,
            types=store.types,
            local=partial(answer_locally, ctx),
            relay_links=file_relay.relay_links,
        )
        await stack.enter_async_context(aggregation(ctx))
        await stack.enter_async_context(reminders(ctx))  # §8.3.4
        await stack.enter_async_context(grant_index(ctx))  # §8.1.3
        resolver = Authorised(cascade.resolve, store.authorisations)  # authorisations honoured
        yield create_app(ctx, resolver=resolver, file_relay=file_relay, metrics=metrics)


async def ready_to_serve(ctx: NodeContext) -> None:
    """Prepare the store (accounts, synthetic data) and remember what a serving node remembers."""
    await prepare(ctx)
    await ctx.store.remember()


def install_signal_trigger() -> Callable[[], Awaitable[object]]:
    """A shutdown trigger fired by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop.wait


def tune_collector() -> None:
    """Cut the cyclic garbage collector's work in a node process (it serves for its lifetime).

    A forward keeps many young objects alive across await points (two HTTP exchanges in
    flight per call), so at the default threshold of 700 the collector traversed them every ~20
    calls: ~10% of a forwarding node's CPU, with pauses of tens of ms for a full collection.
    The request path makes no reference cycles (measured with ``gc.DEBUG_SAVEALL``: none), so
    collecting the young generation every 10,000 allocations frees the same, and what was built
    at start (topology, models, schemas) is frozen out of every collection.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
