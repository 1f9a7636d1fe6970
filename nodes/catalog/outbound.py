"""What a node sends of its own accord (SPEC §6.2 a, b, e; §6.3; §7 目录维护).

``push_loop`` (a node with a parent) pushes every ``exchange.interval`` seconds, at once when
woken (``NodeContext.wakeups``), and sends unacknowledged batches again after
``exchange.ack_timeout``; each round also pushes the type catalogue up and passes anomalies on
to the children they concern. ``notice_loop`` sends the types approved here down the subtree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import structlog

from gateway.core.errors import ExchangeUnavailable
from gateway.core.exchange import Exchange, ack_topic, anomaly_topic, catalog_topic, types_topic
from nodes.catalog import push, types
from nodes.catalog.failures import StepFailed, map_exceptions
from nodes.catalog.place import Place
from nodes.context import NodeContext

log = structlog.get_logger()

Publish = Callable[[str, dict[str, Any] | bytes], Awaitable[None]]

MIN_PAUSE = 0.1  # seconds; the push loop never spins faster than this on its own


class Outbound:
    """Batches, types and anomalies a node sends through its exchange client."""

    def __init__(self, ctx: NodeContext, place: Place, exchange: Exchange):
        self.ctx = ctx
        self.place = place
        self.exchange = exchange
        self.publish: Publish = exchange.publish
        self._types_sent: types.TypesSent | None = None
        self._log = log.bind(node=place.node_id)

    # -- the push loop -------------------------------------------------------------------------
    async def push_loop(self) -> None:
        """Push until cancelled; a failed round is logged and retried, never fatal."""
        wake = self.ctx.wakeups.push
        while True:
            wake.clear()
            try:
                with map_exceptions():
                    await self.push_once()
            except ExchangeUnavailable as exc:
                self._log.info("catalog.push_deferred", reason=str(exc))
            except StepFailed:
                self._log.exception("catalog.push_failed")
            await self._pause()

    async def push_once(self) -> None:
        """Publish types first (a parent refuses rows of types it does not know, so a type
        defined here goes ahead of its certificates' rows), then due batches again, then new
        batches up to the in-flight limit, then anomalies to pass on to children."""
        if not self.exchange.connected.is_set():
            return
        ack_timeout = self.ctx.topology.exchange.ack_timeout
        await self._push_types(ack_timeout)
        batches = await self.ctx.store.outbox.batches()
        for cd_batch in push.due(batches, now=time.time(), ack_timeout=ack_timeout):
            await self._publish_batch(cd_batch, resend=True)
        in_flight = len(batches)
        while in_flight < push.IN_FLIGHT:
            formed = await push.form_batch(self.ctx)
            if formed is None:
                break
            await self._publish_batch(formed, resend=False)
            in_flight += 1
        await self.relay_anomalies()

    async def _publish_batch(self, cd_batch: str, *, resend: bool) -> None:
        assert self.place.parent is not None
        message = await push.batch_message(self.ctx, cd_batch)
        if message is None:  # acknowledged meanwhile
            return
        sending = time.time()
        await self.publish(catalog_topic(self.place.network, self.place.parent), message.body)
        await self.ctx.store.outbox.mark_sent(cd_batch, at=time.time())
        self._log.info(
            "catalog.batch_published", cd_batch=cd_batch, rows=message.rows, resend=resend
        )
        self.ctx.events.emit(
            "batch.published",
            at=sending,
            cd_batch=cd_batch,
            rows=message.rows,
            resend=resend or None,
        )

    async def _push_types(self, ack_timeout: float) -> None:
        assert self.place.parent is not None
        message = await types.types_message(self.ctx)
        if message is None:
            return
        sent = self._types_sent
        fresh = sent is not None and time.time() - sent.at < ack_timeout
        if fresh and sent is not None and sent.upto == message["upto"]:
            return
        await self.publish(types_topic(self.place.network, self.place.parent), message)
        self._types_sent = types.TypesSent(upto=message["upto"], at=time.time())
        self._log.info("type.catalogue_published", types=len(message["types"]))

    async def _pause(self) -> None:
        """Until the next interval, the next resend, or a wake-up (reconnect when offline)."""
        spec = self.ctx.topology.exchange
        pause = spec.interval
        batches = await self.ctx.store.outbox.batches()
        resend = push.next_due_in(batches, now=time.time(), ack_timeout=spec.ack_timeout)
        if resend is not None:
            pause = min(pause, max(resend, MIN_PAUSE))
        connected = self.exchange.connected
        event = self.ctx.wakeups.push if connected.is_set() else connected
        # asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancellation that arrives
        # just as the event is set, and the loop would then outlive its TaskGroup
        with suppress(TimeoutError):
            async with asyncio.timeout(pause):
                await event.wait()

    # -- anomalies down ------------------------------------------------------------------------
    async def relay_anomalies(self) -> None:
        """Pass anomalies of rows a child sent up on to that child: those never sent, and those
        the child has not confirmed within ``ack_timeout`` (it stores each once)."""
        repo = self.ctx.store.anomalies
        resend_after = self.ctx.topology.exchange.ack_timeout
        for child, cd_batch in await repo.relays_due(now=time.time(), resend_after=resend_after):
            rows = await repo.relay_rows(child, cd_batch)
            message = {
                "cd_batch": cd_batch,
                "from": self.place.node_id,
                "anomalies": rows,
                "relayed": True,
            }
            await self.publish(anomaly_topic(self.place.network, child), message)
            await repo.relay_sent(child, cd_batch, at=time.time())
            self._log.info(
                "catalog.anomalies_relayed", child=child, cd_batch=cd_batch, anomalies=len(rows)
            )
            self.ctx.events.emit(
                "anomaly.relayed", child=child, cd_batch=cd_batch, anomalies=len(rows)
            )

    # -- types down ----------------------------------------------------------------------------
    async def notice_loop(self) -> None:
        """Announce each type approved here: down the subtree now, up with the next push."""
        approved = self.ctx.wakeups.approved
        while True:
            type_code = await approved.get()
            try:
                with map_exceptions():
                    notice = await types.approved_notice(self.ctx, type_code)
            except StepFailed:
                self._log.exception("type.notice_failed", type_code=type_code)
                continue
            if notice is not None:
                await self.send_down(notice)

    async def send_down(self, message: dict[str, Any]) -> None:
        """Best effort to every child, on its ack topic."""
        for child in self.place.children:
            try:
                await self.publish(ack_topic(self.place.network, child), message)
            except ExchangeUnavailable as exc:
                self._log.info("type.notice_lost", child=child, reason=str(exc))
