"""``aggregation(ctx)``: the catalog exchange of one node, alive while its block runs (SPEC §6.3).

The node's exchange client ``<network>-<node-id>`` subscribes to its own ``catalog`` and ``types``
topics when it has children, and to its own ``ack`` and ``anomaly`` topics when it has a parent
(``place.subscriptions``). Its jobs: ``inbound`` handles what arrives, ``ingest`` validates and
commits the children's batches, ``outbound`` pushes and announces. One TaskGroup owns every
task they run, each named ``node[<id>].<job>_loop``; leaving the block stops them all, then
the exchange client, then the validation worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from gateway.core.links import LinkSignatureError
from nodes.catalog.inbound import Inbound
from nodes.catalog.outbound import Outbound
from nodes.catalog.pipeline import IngestPipeline
from nodes.catalog.place import Place, subscriptions
from nodes.context import NodeContext
from nodes.exchange_client import node_exchange


class Aggregation:
    """The jobs of one node's aggregation and the exchange client they share."""

    def __init__(self, ctx: NodeContext):
        self.ctx = ctx
        self.place = Place.of(ctx.topology, ctx.node_id)
        self.topics = subscriptions(ctx.topology, ctx.node_id)
        spec = ctx.topology.exchange
        self.exchange = node_exchange(
            ctx,
            job="",
            subscriptions=self.topics,
            on_message=self.on_message,
            take_body=self.take_body,
            # a publish that is not acknowledged by then is sent again anyway; waiting longer
            # only holds up the other batches
            publish_timeout=max(1.0, spec.ack_timeout),
            loop_name=self.place.loop_name("exchange_receive"),
            node_id=ctx.node_id,
            # messages signed per link, and refused unless signed by a neighbour (links.py)
            link_keys=ctx.settings.link_keys,
            on_rejected=self.on_rejected,
        )
        self.outbound = Outbound(ctx, self.place, self.exchange)
        self.ingest = IngestPipeline(ctx, self.place, self.outbound.publish)
        self.inbound = Inbound(ctx, self.place, ingest=self.ingest, outbound=self.outbound)

    async def on_message(self, topic: str, payload: dict[str, object]) -> None:
        await self.inbound.on_message(topic, payload)

    async def take_body(self, topic: str, body: bytes) -> bool:
        return await self.inbound.take_body(topic, body)

    def on_rejected(self, topic: str, error: LinkSignatureError) -> None:
        self.inbound.rejected(topic, error.reason, link_from=error.link_from)

    def start(self, tasks: asyncio.TaskGroup) -> list[asyncio.Task[None]]:
        """Start the node's loops in ``tasks``; the loops, to cancel when the node stops."""
        place = self.place
        loops = [
            tasks.create_task(self.outbound.notice_loop(), name=place.loop_name("type_notice"))
        ]
        if place.children:
            validation = self.ingest.validation_loop(tasks)
            loops += [
                tasks.create_task(validation, name=place.loop_name("catalog_validation")),
                tasks.create_task(
                    self.ingest.ingest_loop(), name=place.loop_name("catalog_ingest")
                ),
            ]
        if place.parent is not None:
            push = self.outbound.push_loop()
            loops.append(tasks.create_task(push, name=place.loop_name("catalog_push")))
        return loops


@asynccontextmanager
async def aggregation(ctx: NodeContext) -> AsyncIterator[Aggregation]:
    """Run the node's catalog exchange for the duration of the block."""
    agg = Aggregation(ctx)
    if not agg.topics:  # a lone node: nothing to exchange with
        yield agg
        return
    async with AsyncExitStack() as stack:
        stack.callback(agg.ingest.validation.close)
        await stack.enter_async_context(agg.exchange)
        tasks = await stack.enter_async_context(asyncio.TaskGroup())
        loops = agg.start(tasks)
        try:
            yield agg
        finally:
            for loop in loops:
                loop.cancel()
