"""Expiry reminders (§8.3.4): each node finds its certificates expiring soon and says so.

``find_reminders`` lists the usable (01) certificates held here whose CertificateExpiringDate
falls within the next ``within_days`` days (today included; the topology's
``reminders.within_days``, 30 by default). ``reminders(ctx)`` runs the job for the duration of
its block: a TaskGroup task ``node[<id>].reminders_loop`` that, once the exchange is connected
and then after each wake-up (every ``reminders.every`` seconds, a day by default, or at once
when ``ctx.wakeups.reminders`` is set; tests may hand in their own ``wake``), publishes the
list on ``ecert/<network>/reminders/<node-id>`` (QoS 1) when it is not empty. It is a notice,
not retained: the embedded broker (amqtt 0.12) hands every retained message to every client
that connects, and 431 nodes' reminders at each of their connections held a China-scale
network's catalogs back for minutes. The node's parent may read it
(``gateway.control.exchange_access``); ``GET /admin/reminders`` lists the same on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, timedelta
from functools import partial
from typing import Any

import orjson
import structlog

from gateway.core.errors import ExchangeError
from gateway.core.exchange import reminders_topic
from nodes.context import NodeContext
from nodes.errors import StoreError
from nodes.exchange_client import node_exchange

log = structlog.get_logger()

MAX_REMINDERS = 10_000  # in one message or answer
PUBLISHED_AT = "reminders_published_at"  # node state: when the job last published, and how many
Wake = Callable[[], Awaitable[None]]
Publish = Callable[[dict[str, Any]], Awaitable[None]]


def window(today: date, within_days: int) -> tuple[str, str]:
    """The first and last expiry dates (ISO, both included) a reminder covers."""
    return today.isoformat(), (today + timedelta(days=within_days)).isoformat()


def reminder(record: dict[str, Any], today: date) -> dict[str, Any]:
    """One reminder: the certificate, its holder and the days left."""
    expiring = str(record.get("CertificateExpiringDate", ""))
    return {
        "certificateID": record.get("CertificateID", ""),
        "certificateName": record.get("CertificateName", ""),
        "certificateTypeCode": record.get("CertificateTypeCode", ""),
        "certificateHolder": record.get("CertificateHolderName", ""),
        "certificateHolderCode": record.get("CertificateHolderCode", ""),
        "certificateValidateEnd": expiring,
        "daysLeft": (date.fromisoformat(expiring) - today).days,
    }


async def find_reminders(ctx: NodeContext, within_days: int) -> dict[str, Any]:
    """What the node reminds of today: ``{"node", "today", "within_days", "reminders"}``."""
    today = ctx.clock.today()
    first, last = window(today, within_days)
    records = await ctx.store.expiry.expiring(first, last, limit=MAX_REMINDERS)
    return {
        "node": ctx.node_id,
        "today": first,
        "within_days": within_days,
        "reminders": [reminder(orjson.loads(record), today) for record in records],
    }


async def publish_once(ctx: NodeContext, publish: Publish) -> int:
    """Find today's reminders and publish them, if there are any; how many there were."""
    found = await find_reminders(ctx, ctx.topology.reminders.within_days)
    count = len(found["reminders"])
    if count:  # nothing to remind of is no message: 431 empty ones cost a big network's broker
        await publish(found)
    async with ctx.store.transaction() as tx:
        await ctx.store.state.put(tx, PUBLISHED_AT, f"{ctx.clock.stamp()} ({count})")
    log.info("reminders.published", count=count, within_days=found["within_days"])
    return count


async def reminders_loop(ctx: NodeContext, publish: Publish, wake: Wake) -> None:
    """Publish now and after every wake-up until cancelled; a failed round waits for the next."""
    while True:
        try:
            await publish_once(ctx, publish)
        except (ExchangeError, StoreError) as exc:
            log.warning("reminders.publish_failed", error=str(exc))
        await wake()


@asynccontextmanager
async def reminders(ctx: NodeContext, *, wake: Wake | None = None) -> AsyncIterator[None]:
    """The node's reminder job, with an exchange client of its own, for the block."""
    network = ctx.topology.network
    exchange = node_exchange(
        ctx,
        job="reminders",
        subscriptions=(),
        on_message=_ignore,
        loop_name=f"node[{ctx.node_id}].reminders_exchange_loop",
    )
    topic = reminders_topic(network, ctx.node_id)

    async def publish(payload: dict[str, Any]) -> None:
        if len(ctx.topology.nodes) == 1:  # a lone node has no exchange to publish on
            return
        await exchange.connected.wait()
        await exchange.publish(topic, payload)  # a notice, not a state: not retained

    every = ctx.topology.reminders.every
    async with AsyncExitStack() as stack:
        if len(ctx.topology.nodes) > 1:
            await stack.enter_async_context(exchange)
        tasks = await stack.enter_async_context(asyncio.TaskGroup())
        job = reminders_loop(ctx, publish, wake or partial(_wake, ctx, every))
        loop = tasks.create_task(job, name=f"node[{ctx.node_id}].reminders_loop")
        try:
            yield
        finally:
            loop.cancel()


async def _wake(ctx: NodeContext, every: float) -> None:
    """After ``every`` seconds, or sooner when asked (``POST /admin/reminders/publish``)."""
    asked = ctx.wakeups.reminders
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(every):
            await asked.wait()
    asked.clear()


async def _ignore(topic: str, payload: dict[str, Any]) -> None:
    """The reminder client subscribes to nothing."""
