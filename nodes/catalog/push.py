"""The child side of the exchange (SPEC §6.2 a, b, e; §6.3): batches out, acknowledgements in.

Outbox rows are put into a batch ``<node-id>-<seq>`` in the same transaction that advances the
persisted counter, then published. A batch leaves the outbox only when the parent acknowledges
it and every anomaly the acknowledgement counts has arrived; until then it is published again,
with the same cd_batch, once ``ack_timeout`` has passed (or at once when it was never published).

A catalog message is ``{"cd_batch", "from", "columns": MESSAGE_COLUMNS, "rows": [[...], ...]}``:
each row an array of its values in the order of the header, which names them once (as objects
the keys were half of every message's bytes).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from nodes.context import NodeContext
from nodes.store.batches import LAST_EXCHANGE_AT
from nodes.store.outbox import PendingBatch
from nodes.store.schema import MESSAGE_COLUMNS

log = structlog.get_logger()

BATCH_ROWS = 1000  # rows per batch (SPEC §6.3 [P])
IN_FLIGHT = 4  # batches published and not yet acknowledged, at most


async def form_batch(ctx: NodeContext, *, limit: int = BATCH_ROWS) -> str | None:
    """Put the oldest unbatched outbox rows into a new batch; None when there are none."""
    store = ctx.store
    if not await store.outbox.has_unbatched():
        return None
    async with store.transaction() as tx:
        seq = await store.state.next_batch_seq(tx)
        cd_batch = f"{ctx.node_id}-{seq}"
        formed = await store.outbox.form_batch(tx, cd_batch, limit=limit)
    if formed == 0:  # only the counter moved; harmless
        return None
    log.info("catalog.batch_formed", cd_batch=cd_batch, rows=formed)
    return cd_batch


def due(batches: list[PendingBatch], *, now: float, ack_timeout: float) -> list[str]:
    """Batches to publish now: never published, or unacknowledged for ``ack_timeout``."""
    return [
        batch.cd_batch
        for batch in batches
        if batch.sent_at is None or now - batch.sent_at >= ack_timeout
    ]


def next_due_in(batches: list[PendingBatch], *, now: float, ack_timeout: float) -> float | None:
    """Seconds until the next resend falls due, None without pending batches."""
    if not batches:
        return None
    return max(
        0.0,
        min(
            0.0 if batch.sent_at is None else batch.sent_at + ack_timeout - now for batch in batches
        ),
    )


@dataclass(frozen=True, slots=True)
class BatchMessage:
    """A pending batch's catalog message, encoded (bundles spliced in as they are stored)."""

    body: bytes
    rows: int


async def batch_message(ctx: NodeContext, cd_batch: str) -> BatchMessage | None:
    """The catalog message of a pending batch, None once it has left the outbox."""
    parts = await ctx.store.outbox.batch_parts(cd_batch)
    if not parts:
        return None
    body = catalog_message(cd_batch, ctx.node_id, parts)
    return BatchMessage(body, await ctx.store.outbox.rows_of(cd_batch))


def catalog_message(cd_batch: str, sender: str, rows: Iterable[bytes]) -> bytes:
    """The body of a catalog message: the header, then ``rows``, each already JSON (an array of
    values, or several comma-separated, as a bundle holds them), joined as they are."""
    head = orjson.dumps({"cd_batch": cd_batch, "from": sender, "columns": MESSAGE_COLUMNS})
    return b'%s,"rows":[%s]}' % (head[:-1], b",".join(rows))


async def _acks_what_was_sent(ctx: NodeContext, cd_batch: str, batch_sha256: str) -> bool:
    message = await batch_message(ctx, cd_batch)
    if message is None:
        return False
    sent = hashlib.sha256(message.body).hexdigest()
    return hmac.compare_digest(sent.encode(), batch_sha256.encode("ascii", "replace"))


@dataclass(frozen=True, slots=True)
class AckOutcome:
    done: bool  # the batch left the outbox
    reason: str  # done | unknown (already acknowledged) | anomalies_missing | other_content


async def acknowledge(
    ctx: NodeContext, cd_batch: str, anomalies: int, *, batch_sha256: str | None = None
) -> AckOutcome:
    """Apply the parent's acknowledgement of ``cd_batch``, which counted ``anomalies`` E.2 rows.

    ``batch_sha256``, when not None, must be the SHA-256 of the catalog message this node sends
    for ``cd_batch``: an ack of other content (or of none: ``""``) leaves the batch pending."""
    store = ctx.store
    outbox, repo = store.outbox, store.anomalies
    rows = await outbox.rows_of(cd_batch)
    if not rows:
        return AckOutcome(done=False, reason="unknown")
    if batch_sha256 is not None and not await _acks_what_was_sent(ctx, cd_batch, batch_sha256):
        log.warning("catalog.ack_rejected", cd_batch=cd_batch, batch_sha256=batch_sha256)
        ctx.events.emit(
            "message.rejected", kind="ack", cd_batch=cd_batch, reason="acknowledges other content"
        )
        return AckOutcome(done=False, reason="other_content")
    received = await repo.keys_of_batch(cd_batch)
    if len(received) < anomalies:
        log.info(
            "catalog.ack_deferred", cd_batch=cd_batch, anomalies=anomalies, received=len(received)
        )
        return AckOutcome(done=False, reason="anomalies_missing")
    clean: list[str] = []
    if await repo.open_count():  # only then do the batch's rows matter (bundles are opened)
        rejected = {certificate_id for certificate_id, _ in received}
        ids = [row["certificate_source_id"] for row in await outbox.batch_rows(cd_batch)]
        clean = [certificate_id for certificate_id in ids if certificate_id not in rejected]
    now = ctx.clock.stamp()
    async with store.transaction() as tx:
        await outbox.delete_batch(tx, cd_batch)
        resolved = await repo.resolve(tx, clean, except_batch=cd_batch, at=now)
        await store.state.put(tx, LAST_EXCHANGE_AT, now)
    fields: dict[str, Any] = {
        "cd_batch": cd_batch,
        "rows": rows,
        "anomalies": anomalies,
        "resolved": resolved,
    }
    log.info("catalog.batch_acknowledged", **fields)
    ctx.events.emit("batch.acknowledged", **fields)
    return AckOutcome(done=True, reason="done")
