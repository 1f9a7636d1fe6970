"""The network's grant index over the exchange (``ecert/<network>/grants/<node-id>``, retained).

``grant_index(ctx)`` runs for the duration of its block: an exchange client of the node's own,
subscribed to every node's ``grants`` topic, stores what each node publishes in place of what it
published before (``apply_grants``); and a TaskGroup task ``node[<id>].grants_publish_loop``
publishes this node's active grants once connected, whenever one is made or withdrawn
(``ctx.wakeups.grants``) and every ``REPUBLISH_EVERY`` seconds (so a restarted broker learns
them again); a node with no grants, that never published any, publishes nothing. A message
that is not a node's own list of well-formed grants is logged and dropped: a node can only
speak for itself (topic ACLs), and ``honour`` also checks that the certificate answers from
that node.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog

from gateway.core.errors import ExchangeError
from gateway.core.exchange import (
    Exchange,
    TopicKind,
    every_grants_topic,
    grants_topic,
    parse_topic,
)
from nodes.context import NodeContext
from nodes.errors import StoreError
from nodes.exchange_client import node_exchange
from nodes.store.authorisations import IndexEntry

log = structlog.get_logger()

REPUBLISH_EVERY = 60.0  # seconds
PUBLISHED = "grants_published"  # node state: how many grants the node last published
MAX_GRANTS = 100_000  # in one node's message
_FIELDS = (
    "certificateID",
    "certificateTypeCode",
    "certificateNumber",
    "grantorCode",
    "grantorName",
    "granteeCode",
    "granteeName",
)


def grants_message(ctx_node: str, entries: list[IndexEntry]) -> dict[str, Any]:
    return {
        "node": ctx_node,
        "grants": [
            dict(zip(_FIELDS, (e.certificate_id, e.type_code, e.number, e.grantor_code,
                               e.grantor_name, e.grantee_code, e.grantee_name), strict=True))
            for e in entries
        ],
    }  # fmt: skip


def entries_of(node_id: str, payload: dict[str, Any]) -> list[IndexEntry]:
    """The grants ``node_id`` published; ValueError when the message is not such a list."""
    grants = payload.get("grants")
    if payload.get("node") != node_id or not isinstance(grants, list) or len(grants) > MAX_GRANTS:
        raise ValueError("not a node's own list of grants")
    entries = []
    for grant in grants:
        if not isinstance(grant, dict) or not all(
            isinstance(grant.get(key), str) and len(grant[key]) <= 200 for key in _FIELDS
        ):
            raise ValueError(f"a grant is not {len(_FIELDS)} strings: {str(grant)[:80]}")
        entries.append(IndexEntry(node_id, *(grant[key] for key in _FIELDS)))
    return entries


async def apply_grants(ctx: NodeContext, topic: str, payload: dict[str, Any]) -> None:
    """Store what a node published (its own grants are stored when made: skipped here)."""
    try:
        kind, node_id = parse_topic(topic)
        if kind is not TopicKind.GRANTS:  # amqtt 0.12 hands retained messages to any client
            return
        entries = entries_of(node_id, payload)
    except (ExchangeError, ValueError) as exc:
        log.warning("grants.message_rejected", topic=topic, reason=str(exc))
        return
    if node_id == ctx.node_id or not ctx.topology.by_id.get(node_id):
        return
    async with ctx.store.transaction() as tx:
        await ctx.store.authorisations.replace_index(tx, node_id, entries)
    log.info("grants.indexed", publisher=node_id, grants=len(entries))


async def grants_publish_loop(ctx: NodeContext, exchange: Exchange) -> None:
    """Publish this node's active grants when connected, asked, and every REPUBLISH_EVERY s;
    a node that has none, and published none before, publishes nothing."""
    topic = grants_topic(ctx.topology.network, ctx.node_id)
    asked = ctx.wakeups.grants
    while True:
        await exchange.connected.wait()
        asked.clear()
        try:
            await publish_grants(ctx, exchange, topic)
        except (ExchangeError, StoreError) as exc:
            log.warning("grants.publish_failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REPUBLISH_EVERY):
                await asked.wait()


async def publish_grants(ctx: NodeContext, exchange: Exchange, topic: str) -> None:
    """Retained, so that nodes connecting later learn them; an empty list only to replace a
    list published before (node state ``PUBLISHED``): the embedded broker hands every
    retained message to every client that connects, and a China-scale network's 431 empty
    lists at each connection held its catalogs back for minutes."""
    entries = await ctx.store.authorisations.granted_by(ctx.node_id)
    if not entries and await ctx.store.state.get(PUBLISHED) in (None, "0"):
        return
    await exchange.publish(topic, grants_message(ctx.node_id, entries), retain=True)
    async with ctx.store.transaction() as tx:
        await ctx.store.state.put(tx, PUBLISHED, len(entries))


@asynccontextmanager
async def grant_index(ctx: NodeContext) -> AsyncIterator[None]:
    """Keep the node's grant index and publish its grants for the duration of the block."""
    if len(ctx.topology.nodes) == 1:  # a lone node: its own grants are all there are
        yield
        return
    network = ctx.topology.network

    async def received(topic: str, payload: dict[str, Any]) -> None:
        await apply_grants(ctx, topic, payload)

    exchange = node_exchange(
        ctx,
        job="grants",
        subscriptions=[every_grants_topic(network)],
        on_message=received,
        loop_name=f"node[{ctx.node_id}].grants_receive_loop",
    )
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(exchange)
        tasks = await stack.enter_async_context(asyncio.TaskGroup())
        name = f"node[{ctx.node_id}].grants_publish_loop"
        loop = tasks.create_task(grants_publish_loop(ctx, exchange), name=name)
        try:
            yield
        finally:
            loop.cancel()
