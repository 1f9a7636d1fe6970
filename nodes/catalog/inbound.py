"""What a node does with each message its exchange client receives (SPEC §6.2 c–e, §6.3).

Catalog messages (batches, and confirmations that relayed anomalies were stored) go to the
ingest pipeline; anomalies are stored (and passed on to the child they concern); an
acknowledgement clears its batch from the outbox; a child's type catalogue is merged, a
parent's approved types are merged and sent on down.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import structlog

from gateway.core.errors import ExchangeUnavailable
from gateway.core.exchange import TopicKind, ack_topic, catalog_topic, parse_topic
from nodes.catalog import push, types
from nodes.catalog.anomalies import receive_anomalies
from nodes.catalog.ingest import signed_by
from nodes.catalog.outbound import Outbound
from nodes.catalog.pipeline import IngestPipeline
from nodes.catalog.place import Place
from nodes.context import NodeContext
from nodes.seals.exchange import merge_seals

log = structlog.get_logger()


class Inbound:
    """The exchange client's ``on_message`` and ``take_body`` of one node."""

    def __init__(
        self, ctx: NodeContext, place: Place, *, ingest: IngestPipeline, outbound: Outbound
    ):
        self.ctx = ctx
        self.place = place
        self.ingest = ingest
        self.outbound = outbound
        self._log = log.bind(node=place.node_id)

    async def take_body(self, topic: str, body: bytes) -> bool:
        """Big catalog messages go to the ingest pipeline undecoded."""
        return await self.ingest.take_body(topic, body)

    def rejected(self, topic: str, reason: str, *, link_from: str | None = None) -> None:
        """A message refused for who signed it (logged where it was refused): an event."""
        kind, _ = parse_topic(topic)
        events = self.ctx.events
        events.emit("message.rejected", kind=kind.value, link_from=link_from, reason=reason)

    async def on_message(self, topic: str, payload: dict[str, Any]) -> None:
        kind, _ = parse_topic(topic)
        if kind in (TopicKind.ACK, TopicKind.ANOMALY) and not signed_by(payload, self.place.parent):
            link_from = payload.get("link_from")
            self._log.warning("catalog.message_rejected", kind=kind.value, link_from=link_from)
            self.rejected(topic, "not from the parent", link_from=str(link_from))
            return
        if kind is TopicKind.CATALOG:
            await self.ingest.on_catalog(payload)
        elif kind is TopicKind.TYPES:
            await self.on_types(payload)
        elif kind is TopicKind.ANOMALY:
            await self.on_anomalies(payload)
        elif kind is TopicKind.ACK:
            await self.on_ack(payload)
        # else: a retained message of the application topics (reminders, grants), which amqtt
        # 0.12 hands to every client connecting if anyone subscribes to it: not aggregation's

    async def on_anomalies(self, payload: dict[str, Any]) -> None:
        cd_batch, rows = payload.get("cd_batch"), payload.get("anomalies")
        if not isinstance(cd_batch, str) or not isinstance(rows, list):
            self._log.warning("catalog.message_rejected", kind="anomaly", cd_batch=cd_batch)
            return
        await receive_anomalies(self.ctx, cd_batch, rows)
        with suppress(ExchangeUnavailable):  # the push loop tries again
            if payload.get("relayed") is True and self.place.parent is not None:
                # passed on by the parent: say they are stored, or it sends them again
                stored = {"from": self.place.node_id, "anomalies_stored": cd_batch}
                topic = catalog_topic(self.place.network, self.place.parent)
                await self.outbound.publish(topic, stored)
            await self.outbound.relay_anomalies()

    async def on_ack(self, payload: dict[str, Any]) -> None:
        cd_batch, count = payload.get("cd_batch"), payload.get("anomalies", 0)
        digest = payload.get("batch_sha256")
        if isinstance(cd_batch, str) and isinstance(count, int):
            # with a key for the link, an ack must name the content it acknowledges
            signed = self.place.parent in self.ctx.settings.link_keys
            bound = digest if isinstance(digest, str) else ("" if signed else None)
            outcome = await push.acknowledge(self.ctx, cd_batch, count, batch_sha256=bound)
            if outcome.done:
                self.ctx.wakeups.push_now()  # a slot is free; more rows may wait
        if isinstance(payload.get("types_upto"), str):
            await types.acknowledge_types(self.ctx, payload["types_upto"])
        if isinstance(payload.get("types_approved"), list):
            await self._receive_approved(payload["types_approved"])

    async def on_types(self, payload: dict[str, Any]) -> None:
        child, upto, items = payload.get("from"), payload.get("upto"), payload.get("types")
        if (
            child not in self.place.children
            or not isinstance(upto, str)
            or not isinstance(items, list)
            or not signed_by(payload, child)
        ):
            self._log.warning("type.message_rejected", child=child)
            return
        changed = await types.merge_types(self.ctx, items, child=child)
        seals = payload.get("seals")
        if isinstance(seals, list):
            changed += await merge_seals(self.ctx, seals, child=str(child))
        if changed and self.place.parent is not None:
            self.ctx.wakeups.push_now()
        with suppress(ExchangeUnavailable):
            topic = ack_topic(self.place.network, str(child))
            await self.outbound.publish(topic, {"types_upto": upto})

    async def _receive_approved(self, items: list[Any]) -> None:
        if await types.merge_types(self.ctx, items, approved=True):
            await self.outbound.send_down({"from": self.place.node_id, "types_approved": items})
