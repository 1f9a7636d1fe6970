"""``aggregation(ctx)``: the catalog exchange of one node, alive while its block runs (SPEC §6.3).

The node's exchange client ``<network>-<node-id>`` subscribes to its own ``catalog`` and ``types``
topics when it has children, and to its own ``ack`` and ``anomaly`` topics when it has a parent.
Incoming messages are handled as they arrive (``on_message``; big catalog messages undecoded,
``take_body``, for the worker process to decode); a node with a parent also runs
``node[<id>].catalog_push_loop``, which pushes every ``exchange.interval`` seconds, at once when
woken (``wake.wake_push``), and sends unacknowledged batches again after ``exchange.ack_timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import structlog

from gateway.core.errors import ExchangeUnavailable
from gateway.core.exchange import (
    Exchange,
    TopicKind,
    ack_topic,
    anomaly_topic,
    catalog_topic,
    parse_topic,
    types_topic,
)
from gateway.core.topology import NodeSpec, Topology
from nodes.catalog import push, types, wake
from nodes.catalog.anomalies import receive_anomalies
from nodes.catalog.ingest import BatchOutcome, Incoming, Prepared, commit_batches, incoming_of
from nodes.catalog.validate import Sender, sender_of
from nodes.catalog.worker import Unread, ValidationWorker
from nodes.context import NodeContext
from nodes.store.anomalies import AnomalyRepo
from nodes.store.outbox import OutboxRepo

log = structlog.get_logger()

MIN_PAUSE = 0.1  # seconds; the push loop never spins faster than this on its own
INBOX_SIZE = 16  # catalog messages waiting for ingest; a full inbox holds up the receive loop
GROUP_BATCHES = 10  # batches (of up to push.BATCH_ROWS rows) committed together at most
MIN_COMMIT = 4  # ... and at least, while that many are being validated (a commit has a price)
VALIDATION_BATCHES = 2  # messages validated in one step (one worker call)
VALIDATING = 2 * GROUP_BATCHES  # validation steps started ahead of the commit
WORKER_BYTES = 64 * 1024  # catalog messages this big (~100 rows) are decoded by the worker


def subscriptions(topology: Topology, node_id: str) -> list[str]:
    network = topology.network
    topics: list[str] = []
    if topology.children(node_id):
        topics += [catalog_topic(network, node_id), types_topic(network, node_id)]
    if topology.parent(node_id) is not None:
        topics += [ack_topic(network, node_id), anomaly_topic(network, node_id)]
    return topics


class Aggregation:
    """Message handlers and the push loop of one node; ``exchange`` is set while it runs."""

    def __init__(self, ctx: NodeContext):
        self.ctx = ctx
        self.network = ctx.topology.network
        self.parent: NodeSpec | None = ctx.topology.parent(ctx.node_id)
        self.children: dict[str, Sender] = {
            child.id: sender_of(ctx.topology, child.id)
            for child in ctx.topology.children(ctx.node_id)
        }
        self.wake = asyncio.Event()
        # batches decoded here, and bodies of big catalog messages for the worker to decode
        self.inbox: asyncio.Queue[Incoming | bytes] = asyncio.Queue(INBOX_SIZE)
        self.exchange: Exchange | None = None
        self.validation = ValidationWorker(
            ctx.node_id, self.children, forward=self.parent is not None
        )
        self._types_sent: types.TypesSent | None = None
        self._log = log.bind(node=ctx.node_id)

    # -- incoming ------------------------------------------------------------------------------
    async def take_body(self, topic: str, body: bytes) -> bool:
        """Take a big catalog message as it came: the worker process decodes it."""
        if len(body) < WORKER_BYTES or parse_topic(topic)[0] is not TopicKind.CATALOG:
            return False
        await self._enqueue(body)
        return True

    async def on_message(self, topic: str, payload: dict[str, Any]) -> None:
        kind, _ = parse_topic(topic)
        if kind is TopicKind.CATALOG:
            await self.on_catalog(payload)
        elif kind is TopicKind.TYPES:
            await self.on_types(payload)
        elif kind is TopicKind.ANOMALY:
            await self.on_anomalies(payload)
        else:
            await self.on_ack(payload)

    async def on_catalog(self, payload: dict[str, Any]) -> None:
        if "anomalies_stored" in payload:
            await self.on_anomalies_stored(payload)
            return
        incoming = incoming_of(payload, self.children)
        if incoming is None:
            self._reject(payload)
            return
        await self._enqueue(incoming)

    async def _enqueue(self, message: Incoming | bytes) -> None:
        await self.inbox.put(message)
        await asyncio.sleep(0)  # a backlog of messages must not hold up the commit under way

    def _reject(self, payload: dict[str, Any]) -> None:
        child, cd_batch = payload.get("from"), payload.get("cd_batch")
        self._log.warning("catalog.message_rejected", child=child, cd_batch=cd_batch)

    async def on_anomalies_stored(self, payload: dict[str, Any]) -> None:
        """A child confirms it stored the anomalies this node passed on for ``cd_batch``."""
        child, cd_batch = payload.get("from"), payload.get("anomalies_stored")
        if (
            not isinstance(child, str)
            or child not in self.children
            or not isinstance(cd_batch, str)
        ):
            self._log.warning("catalog.message_rejected", kind="anomalies_stored", child=child)
            return
        await AnomalyRepo(self.ctx.db).relay_done(child, cd_batch)

    async def ingest_loop(self) -> None:
        """Ingest what the children sent and answer each batch.

        Two stages joined by a queue: messages are validated a few at a time (big ones in the
        worker process, so on the other core: ``nodes.catalog.worker``) while the node commits
        those validated before, in order, as many as are ready in one commit (``MIN_COMMIT`` to
        ``GROUP_BATCHES`` batches while more are on their way). Small steps put both cores to
        work from the first message of a backlog to the last; a commit's fixed cost (the index
        pages it rewrites: ~6 ms at 100,000 catalog rows) keeps the commits from being small.
        """
        validating: asyncio.Queue[asyncio.Task[list[Prepared]]] = asyncio.Queue(VALIDATING)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._group_loop(validating, tasks), name=f"{self.ctx.node_id}.group")
            held: asyncio.Task[list[Prepared]] | None = None
            while True:
                prepared = list(await (held or await validating.get()))
                held = None
                while len(prepared) < GROUP_BATCHES and not validating.empty():
                    task = validating.get_nowait()
                    if not task.done() and len(prepared) >= MIN_COMMIT:
                        held = task  # the next commit starts with it
                        break
                    prepared += await task
                await self._commit_and_answer(prepared)

    async def _group_loop(
        self, validating: asyncio.Queue[asyncio.Task[list[Prepared]]], tasks: asyncio.TaskGroup
    ) -> None:
        """Take messages from the inbox, a few at a time, and start validating them."""
        while True:
            group = [await self.inbox.get()]
            while not self.inbox.empty() and len(group) < VALIDATION_BATCHES:
                group.append(self.inbox.get_nowait())
            await validating.put(tasks.create_task(self._validated(group)))

    async def _validated(self, group: list[Incoming | bytes]) -> list[Prepared]:
        prepared: list[Prepared] = []
        for item in await self._prepare(group):
            if isinstance(item, Prepared):
                prepared.append(item)
            else:
                await self._unread(item)
        return prepared

    async def _prepare(self, group: list[Incoming | bytes]) -> list[Prepared | Unread]:
        today = self.ctx.clock.today().isoformat()
        try:
            return await self.validation.prepare(group, today)
        except Exception:  # never fatal for the node; the children send the batches again
            self._log.exception("catalog.ingest_failed", messages=len(group))
            return []

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
            outcomes = await commit_batches(self.ctx, prepared)
        except Exception:  # the children send the batches again
            batches = [item.cd_batch for item in prepared]
            self._log.exception("catalog.ingest_failed", batches=batches)
            return
        if self.parent is not None and not all(outcome.repeated for outcome in outcomes):
            self.wake.set()  # forward the subtree's rows now
        for item, outcome in zip(prepared, outcomes, strict=True):
            await self._answer(item.sender.node_id, outcome)

    async def _answer(self, child: str, outcome: BatchOutcome) -> None:
        """Anomalies first, then the acknowledgement that counts them (after the commit)."""
        try:
            if outcome.anomalies:
                message = outcome.anomaly_message(self.ctx.node_id)
                await self._publish(anomaly_topic(self.network, child), message)
            await self._publish(ack_topic(self.network, child), outcome.ack())
        except ExchangeUnavailable as exc:  # the child sends the batch again; we answer again
            self._log.info("catalog.ack_deferred", cd_batch=outcome.cd_batch, reason=str(exc))

    async def on_anomalies(self, payload: dict[str, Any]) -> None:
        cd_batch, rows = payload.get("cd_batch"), payload.get("anomalies")
        if not isinstance(cd_batch, str) or not isinstance(rows, list):
            self._log.warning("catalog.message_rejected", kind="anomaly", cd_batch=cd_batch)
            return
        await receive_anomalies(self.ctx, cd_batch, rows)
        with suppress(ExchangeUnavailable):  # the push loop tries again
            if payload.get("relayed") is True and self.parent is not None:
                # passed on by the parent: say they are stored, or it sends them again
                stored = {"from": self.ctx.node_id, "anomalies_stored": cd_batch}
                await self._publish(catalog_topic(self.network, self.parent.id), stored)
            await self.relay_anomalies()

    async def relay_anomalies(self) -> None:
        """Pass anomalies of rows a child sent up on to that child: those never sent, and those
        the child has not confirmed within ``ack_timeout`` (it stores each once)."""
        repo = AnomalyRepo(self.ctx.db)
        resend_after = self.ctx.topology.exchange.ack_timeout
        for child, cd_batch in await repo.relays_due(now=time.time(), resend_after=resend_after):
            rows = await repo.relay_rows(child, cd_batch)
            message = {
                "cd_batch": cd_batch,
                "from": self.ctx.node_id,
                "anomalies": rows,
                "relayed": True,
            }
            await self._publish(anomaly_topic(self.network, child), message)
            await repo.relay_sent(child, cd_batch, at=time.time())
            self._log.info(
                "catalog.anomalies_relayed", child=child, cd_batch=cd_batch, anomalies=len(rows)
            )
            self.ctx.events.emit(
                "anomaly.relayed", child=child, cd_batch=cd_batch, anomalies=len(rows)
            )

    async def on_ack(self, payload: dict[str, Any]) -> None:
        cd_batch, count = payload.get("cd_batch"), payload.get("anomalies", 0)
        if isinstance(cd_batch, str) and isinstance(count, int):
            outcome = await push.acknowledge(self.ctx, cd_batch, count)
            if outcome.done:
                self.wake.set()  # a slot is free; more rows may wait
        if isinstance(payload.get("types_upto"), str):
            await types.acknowledge_types(self.ctx, payload["types_upto"])
        if isinstance(payload.get("types_approved"), list):
            await self._receive_approved(payload["types_approved"])

    async def on_types(self, payload: dict[str, Any]) -> None:
        child, upto, items = payload.get("from"), payload.get("upto"), payload.get("types")
        if child not in self.children or not isinstance(upto, str) or not isinstance(items, list):
            self._log.warning("type.message_rejected", child=child)
            return
        if await types.merge_types(self.ctx, items, child=child) and self.parent is not None:
            self.wake.set()
        with suppress(ExchangeUnavailable):
            await self._publish(ack_topic(self.network, str(child)), {"types_upto": upto})

    async def _receive_approved(self, items: list[Any]) -> None:
        if await types.merge_types(self.ctx, items, approved=True):
            await self._send_down({"from": self.ctx.node_id, "types_approved": items})

    async def announce_approval(self, type_code: str) -> None:
        """Send a type this node approved down its subtree and (by the push loop) up."""
        notice = await types.approved_notice(self.ctx, type_code)
        if notice is not None:
            await self._send_down(notice)
        self.wake.set()

    async def _send_down(self, message: dict[str, Any]) -> None:
        for child in self.children:
            try:
                await self._publish(ack_topic(self.network, child), message)
            except ExchangeUnavailable as exc:
                self._log.info("type.notice_lost", child=child, reason=str(exc))

    async def _publish(self, topic: str, message: dict[str, Any] | bytes) -> None:
        if self.exchange is None:
            raise ExchangeUnavailable("the exchange is not running", broker="-")
        await self.exchange.publish(topic, message)

    # -- outgoing ------------------------------------------------------------------------------
    async def push_loop(self) -> None:
        """Push until cancelled; a failed round is logged and retried, never fatal."""
        while True:
            self.wake.clear()
            try:
                await self.push_once()
            except ExchangeUnavailable as exc:
                self._log.info("catalog.push_deferred", reason=str(exc))
            except Exception:
                self._log.exception("catalog.push_failed")
            await self._pause()

    async def push_once(self) -> None:
        """Publish due batches again, then new batches up to the in-flight limit, then types, then
        anomalies to pass on to children."""
        if self.exchange is None or not self.exchange.connected.is_set():
            return
        ack_timeout = self.ctx.topology.exchange.ack_timeout
        batches = await OutboxRepo(self.ctx.db).batches()
        for cd_batch in push.due(batches, now=time.time(), ack_timeout=ack_timeout):
            await self._publish_batch(cd_batch, resend=True)
        in_flight = len(batches)
        while in_flight < push.IN_FLIGHT:
            formed = await push.form_batch(self.ctx)
            if formed is None:
                break
            await self._publish_batch(formed, resend=False)
            in_flight += 1
        await self._push_types(ack_timeout)
        await self.relay_anomalies()

    async def _publish_batch(self, cd_batch: str, *, resend: bool) -> None:
        assert self.parent is not None
        message = await push.batch_message(self.ctx, cd_batch)
        if message is None:  # acknowledged meanwhile
            return
        sending = time.time()
        await self._publish(catalog_topic(self.network, self.parent.id), message.body)
        await OutboxRepo(self.ctx.db).mark_sent(cd_batch, at=time.time())
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
        assert self.parent is not None
        message = await types.types_message(self.ctx)
        if message is None:
            return
        sent = self._types_sent
        fresh = sent is not None and time.time() - sent.at < ack_timeout
        if fresh and sent is not None and sent.upto == message["upto"]:
            return
        await self._publish(types_topic(self.network, self.parent.id), message)
        self._types_sent = types.TypesSent(upto=message["upto"], at=time.time())
        self._log.info("type.catalogue_published", types=len(message["types"]))

    async def _pause(self) -> None:
        """Until the next interval, the next resend, or a wake-up (reconnect when offline)."""
        spec = self.ctx.topology.exchange
        pause = spec.interval
        batches = await OutboxRepo(self.ctx.db).batches()
        resend = push.next_due_in(batches, now=time.time(), ack_timeout=spec.ack_timeout)
        if resend is not None:
            pause = min(pause, max(resend, MIN_PAUSE))
        exchange = self.exchange
        event = self.wake if exchange is None or exchange.connected.is_set() else exchange.connected
        # asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancellation that arrives
        # just as the event is set, and the loop would then outlive its TaskGroup
        with suppress(TimeoutError):
            async with asyncio.timeout(pause):
                await event.wait()


@asynccontextmanager
async def aggregation(ctx: NodeContext) -> AsyncIterator[Aggregation]:
    """Run the node's catalog exchange for the duration of the block."""
    agg = Aggregation(ctx)
    topics = subscriptions(ctx.topology, ctx.node_id)
    if not topics:  # a lone node: nothing to exchange with
        yield agg
        return
    spec = ctx.topology.exchange
    exchange = Exchange(
        network=ctx.topology.network,
        host=spec.broker_host,
        port=spec.broker_port,
        client_id=f"{ctx.topology.network}-{ctx.node_id}",
        subscriptions=topics,
        on_message=agg.on_message,
        take_body=agg.take_body,
        # a publish that is not acknowledged by then is sent again anyway; waiting longer
        # only holds up the other batches
        publish_timeout=max(1.0, spec.ack_timeout),
    )
    async with exchange, asyncio.TaskGroup() as tasks:
        agg.exchange = exchange
        wake.register(ctx, agg)
        loops = []
        if agg.children:
            loops.append(
                tasks.create_task(
                    agg.ingest_loop(), name=f"node[{ctx.node_id}].catalog_ingest_loop"
                )
            )
        if agg.parent is not None:
            loops.append(
                tasks.create_task(agg.push_loop(), name=f"node[{ctx.node_id}].catalog_push_loop")
            )
        try:
            yield agg
        finally:
            wake.unregister(ctx, agg)
            for loop in loops:
                loop.cancel()
            agg.exchange = None
            agg.validation.close()
