"""The ingest pipeline of a parent node (SPEC §6.2 c, §6.3): catalog messages in, answers out.

Two stages joined by a queue: ``validation_loop`` takes messages from the inbox a few at a time
and starts validating them (big ones in the worker process, so on the other core:
``nodes.catalog.worker``), while ``ingest_loop`` commits those validated before, in order, as
many as are ready in one commit (``MIN_COMMIT`` to ``GROUP_BATCHES`` batches while more are on
their way), then answers each batch. Small steps put both cores to work from the first message
of a backlog to the last; a commit's fixed cost (the index pages it rewrites: ~6 ms at 100,000
catalog rows) keeps the commits from being small.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from gateway.core.errors import ExchangeUnavailable
from gateway.core.exchange import TopicKind, ack_topic, anomaly_topic, parse_topic
from nodes.catalog.failures import StepFailed, map_exceptions
from nodes.catalog.ingest import (
    BatchOutcome,
    Incoming,
    Prepared,
    commit_batches,
    incoming_of,
    signed_by,
)
from nodes.catalog.place import Place
from nodes.catalog.worker import Unread, ValidationWorker
from nodes.context import NodeContext

log = structlog.get_logger()

Publish = Callable[[str, dict[str, Any] | bytes], Awaitable[None]]

INBOX_SIZE = 16  # catalog messages waiting for ingest; a full inbox holds up the receive loop
GROUP_BATCHES = 10  # batches (of up to push.BATCH_ROWS rows) committed together at most
MIN_COMMIT = 4  # ... and at least, while that many are being validated (a commit has a price)
VALIDATION_BATCHES = 2  # messages validated in one step (one worker call)
VALIDATING = 2 * GROUP_BATCHES  # validation steps started ahead of the commit
WORKER_BYTES = 64 * 1024  # catalog messages this big (~100 rows) are decoded by the worker

Step = asyncio.Task[list[Prepared]]


class IngestPipeline:
    """The catalog messages of one parent node's children, validated, committed and answered."""

    def __init__(self, ctx: NodeContext, place: Place, publish: Publish):
        self.ctx = ctx
        self.place = place
        self.publish = publish
        # batches decoded here, and bodies of big catalog messages for the worker to decode
        self.inbox: asyncio.Queue[Incoming | bytes] = asyncio.Queue(INBOX_SIZE)
        self.validating: asyncio.Queue[Step] = asyncio.Queue(VALIDATING)
        self.validation = ValidationWorker(
            place.node_id, place.children, forward=place.parent is not None
        )
        self._log = log.bind(node=place.node_id)

    # -- messages in ---------------------------------------------------------------------------
    async def take_body(self, topic: str, body: bytes) -> bool:
        """Take a big catalog message as it came: the worker process decodes it."""
        if len(body) < WORKER_BYTES or parse_topic(topic)[0] is not TopicKind.CATALOG:
            return False
        await self._enqueue(body)
        return True

    async def on_catalog(self, payload: dict[str, Any]) -> None:
        if "anomalies_stored" in payload:
            await self.on_anomalies_stored(payload)
            return
        incoming = incoming_of(payload, self.place.children)
        if incoming is None:
            self._reject(payload)
            return
        await self._enqueue(incoming)

    async def _enqueue(self, message: Incoming | bytes) -> None:
        await self.inbox.put(message)
        await asyncio.sleep(0)  # a backlog of messages must not hold up the commit under way

    def _reject(self, payload: dict[str, Any]) -> None:
        child, cd_batch = payload.get("from"), payload.get("cd_batch")
        link_from = payload.get("link_from")
        self._log.warning(
            "catalog.message_rejected", child=child, cd_batch=cd_batch, link_from=link_from
        )
        if not signed_by(payload, child):  # a child's message claiming another sender
            self.ctx.events.emit(
                "message.rejected", kind="catalog", link_from=link_from, reason="sender mismatch"
            )

    async def on_anomalies_stored(self, payload: dict[str, Any]) -> None:
        """A child confirms it stored the anomalies this node passed on for ``cd_batch``."""
        child, cd_batch = payload.get("from"), payload.get("anomalies_stored")
        if (
            not isinstance(child, str)
            or child not in self.place.children
            or not isinstance(cd_batch, str)
            or not signed_by(payload, child)
        ):
            self._log.warning("catalog.message_rejected", kind="anomalies_stored", child=child)
            return
        await self.ctx.store.anomalies.relay_done(child, cd_batch)

    # -- the two stages ------------------------------------------------------------------------
    async def validation_loop(self, tasks: asyncio.TaskGroup) -> None:
        """Take messages from the inbox, a few at a time, and start validating them (in
        ``tasks``, the aggregation's task group)."""
        name = f"node[{self.place.node_id}].catalog_validation"
        while True:
            group = [await self.inbox.get()]
            while not self.inbox.empty() and len(group) < VALIDATION_BATCHES:
                group.append(self.inbox.get_nowait())
            step = tasks.create_task(self._validated(group), name=name)
            try:
                await self.validating.put(step)
            except asyncio.CancelledError:
                step.cancel()
                raise

    async def ingest_loop(self) -> None:
        """Commit what was validated, in order, and answer each batch; when it stops, the
        validation steps it did not take stop too."""
        held: Step | None = None
        try:
            while True:
                prepared = list(await (held or await self.validating.get()))
                held = None
                while len(prepared) < GROUP_BATCHES and not self.validating.empty():
                    step = self.validating.get_nowait()
                    if not step.done() and len(prepared) >= MIN_COMMIT:
                        held = step  # the next commit starts with it
                        break
                    prepared += await step
                await self._commit_and_answer(prepared)
        finally:
            for left in [held, *_drained(self.validating)]:
                if left is not None:
                    left.cancel()

    async def _validated(self, group: list[Incoming | bytes]) -> list[Prepared]:
        today = self.ctx.clock.today().isoformat()
        try:
            with map_exceptions():
                type_codes = await self.ctx.store.types.codes()
                items = await self.validation.prepare(group, today, type_codes=type_codes)
        except StepFailed:  # never fatal for the node; the children send the batches again
            self._log.exception("catalog.ingest_failed", messages=len(group))
            return []
        prepared: list[Prepared] = []
        for item in items:
            if isinstance(item, Prepared):
                prepared.append(item)
            else:
                await self._unread(item)
        return prepared

    async def _unread(self, item: Unread) -> None:
        """A big message the worker found not to be a batch: maybe a confirmation, else junk."""
        if item.payload is None:
            self._log.warning("catalog.payload_rejected", reason=item.reason)
        elif "anomalies_stored" in item.payload:
            await self.on_anomalies_stored(item.payload)
        else:
            self._reject(item.payload)

    async def _commit_and_answer(self, prepared: list[Prepared]) -> None:
        if not prepared:
            return
        try:
            with map_exceptions():
                outcomes = await commit_batches(self.ctx, prepared)
        except StepFailed:  # the children send the batches again
            batches = [item.cd_batch for item in prepared]
            self._log.exception("catalog.ingest_failed", batches=batches)
            return
        if self.place.parent is not None and not all(outcome.repeated for outcome in outcomes):
            self.ctx.wakeups.push_now()  # forward the subtree's rows now
        for item, outcome in zip(prepared, outcomes, strict=True):
            await self._answer(item.sender.node_id, outcome, item.digest)

    async def _answer(self, child: str, outcome: BatchOutcome, digest: str | None) -> None:
        """Anomalies first, then the acknowledgement that counts them (after the commit)."""
        network = self.place.network
        try:
            if outcome.anomalies:
                message = outcome.anomaly_message(self.place.node_id)
                await self.publish(anomaly_topic(network, child), message)
            await self.publish(ack_topic(network, child), outcome.ack(digest))
        except ExchangeUnavailable as exc:  # the child sends the batch again; we answer again
            self._log.info("catalog.ack_deferred", cd_batch=outcome.cd_batch, reason=str(exc))


def _drained(queue: asyncio.Queue[Step]) -> list[Step]:
    steps = []
    while not queue.empty():
        steps.append(queue.get_nowait())
    return steps
