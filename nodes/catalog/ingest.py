"""The parent side of the exchange (SPEC §6.2 c): validate a child's batch and commit it once.

In ONE transaction: the valid rows go into the catalog with the child as routing pointer, into
this node's own outbox when it has a parent (provinces forward their subtree to national: what
a batch changed is one outbox entry, a bundle of the rows as a message carries them), and the
batch is recorded with its anomalies. A batch seen before is answered from that record and
changes nothing, so at-least-once delivery applies every batch exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import orjson
import structlog

from nodes.catalog.validate import (
    OWNED_ELSEWHERE,
    Row,
    Sender,
    add_anomalies,
    dedupe_anomalies,
    validate_rows,
)
from nodes.context import NodeContext
from nodes.store.batches import LAST_EXCHANGE_AT, IngestedBatch, IngestedBatchRepo, NodeState
from nodes.store.catalog import (
    CD_OPERATION_AT,
    CD_TIME_AT,
    CatalogRepo,
    CatalogValues,
    EntryState,
    e1_row,
)
from nodes.store.db import Transaction
from nodes.store.outbox import Bundle, OutboxRepo
from nodes.store.schema import MESSAGE_COLUMNS

log = structlog.get_logger()

CHECKPOINT_ROWS = 1000  # a commit of this many rows has the WAL copied back in the background
_MESSAGE_WIDTH = len(MESSAGE_COLUMNS)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What the parent answers a batch with: the E.2 rows and the acknowledgement."""

    cd_batch: str
    accepted: int
    anomalies: list[dict[str, str]]
    repeated: bool  # the batch had been committed before; nothing was applied now

    def ack(self, batch_sha256: str | None = None) -> dict[str, Any]:
        """``batch_sha256``: the digest of the batch message answered, which the child checks
        against the batch it sent before it lets the batch go."""
        count = len(self.anomalies)
        ack: dict[str, Any] = {
            "cd_batch": self.cd_batch,
            "accepted": self.accepted,
            "anomalies": count,
        }
        if batch_sha256 is not None:
            ack["batch_sha256"] = batch_sha256
        return ack

    def anomaly_message(self, parent_id: str) -> dict[str, Any]:
        return {"cd_batch": self.cd_batch, "from": parent_id, "anomalies": self.anomalies}


@dataclass(slots=True)
class _Settled:
    changes: Sequence[CatalogValues]  # rows newer than the catalog's: applied and forwarded
    accepted: int  # valid rows, applied or already known
    owned: list[Row]  # E.2 rows of the ownership rule


@dataclass(frozen=True, slots=True)
class Incoming:
    """One catalog message from a child, waiting to be ingested."""

    sender: Sender
    cd_batch: str
    rows: list[Any]
    digest: str | None = None  # ``body_sha256`` of the signed message, echoed in the ack


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch after validation, ready to commit: its valid rows as the catalog stores them."""

    sender: Sender
    cd_batch: str
    rows: int  # as sent
    valid: Sequence[CatalogValues]  # a list, or ``PackedRows`` from the worker
    anomalies: list[Row]
    forward: bytes | None = None  # the valid rows as an outbox bundle, when made beforehand
    digest: str | None = None  # as ``Incoming.digest``


def signed_by(payload: dict[str, Any], node_id: object) -> bool:
    """The message was signed by ``node_id``'s end of the link, or is unsigned (a node without
    link keys; with keys the exchange client refuses unsigned messages before they get here)."""
    return bool(payload.get("link_from", node_id) == node_id)


def incoming_of(payload: Any, children: Mapping[str, Sender]) -> Incoming | None:
    """The batch a catalog message carries, when it is one from a child of this node, signed
    by that child."""
    if not isinstance(payload, dict):
        return None
    child, cd_batch, rows = payload.get("from"), payload.get("cd_batch"), payload.get("rows")
    if (
        not isinstance(child, str)
        or child not in children
        or not isinstance(cd_batch, str)
        or not cd_batch.startswith(f"{child}-")
        or not isinstance(rows, list)
        or not signed_by(payload, child)
    ):
        return None
    digest = payload.get("body_sha256")
    rows = _rows_of(payload.get("columns"), rows)
    return Incoming(children[child], cd_batch, rows, digest if isinstance(digest, str) else None)


def _rows_of(columns: Any, rows: list[Any]) -> list[Any]:
    """The rows as validation takes them: arrays in ``MESSAGE_COLUMNS`` order (the header this
    node's children send) or without a header, as they are; arrays under another header as E.1
    objects; under a header that is not a list of names, none a row."""
    if columns is None or (isinstance(columns, list) and tuple(columns) == MESSAGE_COLUMNS):
        return rows
    if not isinstance(columns, list) or not all(type(column) is str for column in columns):
        return [None] * len(rows)
    return [
        dict(zip(columns, row, strict=True))
        if isinstance(row, list) and len(row) == len(columns)
        else row
        for row in rows
    ]


async def ingest_batch(
    ctx: NodeContext, sender: Sender, cd_batch: str, rows: list[Any]
) -> BatchOutcome:
    """Validate and commit one batch from the child ``sender`` (or replay its earlier outcome)."""
    [outcome] = await ingest_batches(ctx, [Incoming(sender, cd_batch, rows)])
    return outcome


async def ingest_batches(ctx: NodeContext, batches: list[Incoming]) -> list[BatchOutcome]:
    """Validate, then commit several batches in one transaction; one outcome per batch."""
    return await commit_batches(ctx, prepare_batches(batches, today=ctx.clock.today().isoformat()))


def prepare_batches(batches: list[Incoming], *, today: str) -> list[Prepared]:
    """Validation only: pure CPU, no store, so it may run beside the previous commit."""
    return [
        prepare_batch(b.sender, b.cd_batch, b.rows, today=today, digest=b.digest) for b in batches
    ]


def prepare_batch(
    sender: Sender,
    cd_batch: str,
    rows: list[Any],
    *,
    today: str,
    forward: bool = False,
    digest: str | None = None,
) -> Prepared:
    """``forward``: also encode the valid rows as the bundle this node would forward."""
    verdict = validate_rows(rows, sender, today=today, cd_batch=cd_batch)
    via = sender.node_id
    valid = [(*values, cd_batch, via) for values in verdict.valid]
    bundle = orjson.dumps(verdict.valid) if forward and verdict.valid else None
    return Prepared(sender, cd_batch, len(rows), valid, verdict.anomalies, bundle, digest)


async def commit_batches(ctx: NodeContext, prepared: list[Prepared]) -> list[BatchOutcome]:
    """Commit validated batches in order, in ONE transaction; one outcome per batch.

    A backlog committed together costs one commit instead of many (on a slow disk the commit,
    not the rows, dominates), and a fixed handful of statements: the rows of every batch go
    into the catalog (and the outbox) in one ``executemany`` each. A batch already recorded, or
    repeated within the group, is answered from the record and changes nothing.
    """
    now = ctx.clock.stamp()
    forward = ctx.topology.parent(ctx.node_id) is not None
    async with ctx.store.transaction() as tx:
        known = await IngestedBatchRepo.outcomes(tx, [p.cd_batch for p in prepared])
        first: dict[str, Prepared] = {}
        for item in prepared:
            if item.cd_batch not in known:
                first.setdefault(item.cd_batch, item)
        fresh = list(first.values())
        settled = await _apply(tx, fresh)
        if forward:
            bundles = [_bundle(item, batch) for item, batch in zip(fresh, settled, strict=True)]
            await OutboxRepo.append_bundles(tx, [bundle for bundle in bundles if bundle.rows])
        records = [_record(item, batch, now) for item, batch in zip(fresh, settled, strict=True)]
        if records:
            await IngestedBatchRepo.record(tx, records)
            await NodeState.put(tx, LAST_EXCHANGE_AT, now)
    if sum(item.rows for item in fresh) >= CHECKPOINT_ROWS:
        ctx.store.db.checkpoint_soon()  # copied back into the file beside the next commit
    for item, batch, record in zip(fresh, settled, records, strict=True):
        _log_ingested(ctx, item, batch, record.anomalies)
    recorded = {**known, **{record.cd_batch: record for record in records}}
    return [
        _outcome(recorded[item.cd_batch], repeated=first.get(item.cd_batch) is not item)
        for item in prepared
    ]


def _bundle(item: Prepared, settled: _Settled) -> Bundle:
    """What ``item`` changed, to forward: the bundle made with its validation when every valid
    row was applied, else encoded here."""
    if item.forward is not None and len(settled.changes) == len(item.valid):
        return Bundle(item.forward, len(item.valid))
    rows = [values[:_MESSAGE_WIDTH] for values in settled.changes]
    return Bundle(orjson.dumps(rows), len(rows))


def _outcome(record: IngestedBatch, *, repeated: bool) -> BatchOutcome:
    return BatchOutcome(record.cd_batch, record.accepted, record.anomalies, repeated)


def _record(item: Prepared, settled: _Settled, now: str) -> IngestedBatch:
    anomalies = dedupe_anomalies(item.anomalies + settled.owned)
    return IngestedBatch(item.cd_batch, item.sender.node_id, now, settled.accepted, anomalies)


async def _apply(tx: Transaction, batches: list[Prepared]) -> list[_Settled]:
    """Put the valid rows of ``batches`` into the catalog, each through its sender, as
    ``settle`` rules; what each batch changed, accepted and found owned elsewhere.

    The usual case, every row new or newer and through the node that already leads to it, is
    applied in one statement that checks the rules itself; only when some row was held back is
    that undone and the batch settled row by row against the stored entries.
    """
    count = sum(len(item.valid) for item in batches)
    if not count:
        return [_Settled([], 0, []) for _ in batches]
    # chained, not copied into one list: rows the worker packed are unpacked as the statement
    # reads them, in the SQLite thread (``PackedRows``)
    values = chain.from_iterable(item.valid for item in batches)
    if await CatalogRepo.upsert_all_owned(tx, values, count):
        return [_Settled(item.valid, len(item.valid), []) for item in batches]
    stored = await CatalogRepo.states(tx, [row[0] for item in batches for row in item.valid])
    settled = [settle(item.valid, stored, item.sender.node_id) for item in batches]
    await CatalogRepo.upsert_values(tx, [row for batch in settled for row in batch.changes])
    return settled


def _log_ingested(
    ctx: NodeContext, batch: Prepared, settled: _Settled, anomalies: list[Row]
) -> None:
    fields: dict[str, Any] = {
        "cd_batch": batch.cd_batch,
        "child": batch.sender.node_id,
        "rows": batch.rows,
        "accepted": settled.accepted,
        "applied": len(settled.changes),
        "anomalies": len(anomalies),
    }
    log.info("catalog.batch_ingested", **fields)
    ctx.events.emit("batch.committed", **fields)


def settle(
    valid: Sequence[CatalogValues], stored: dict[str, EntryState], via_node: str
) -> _Settled:
    """Apply the ownership rule and the cd_time order to valid rows, in batch order.

    A row for an id that another subtree owns (a stored entry through another node that is not
    cancelled) is an anomaly, whatever its cd_operation: applying it would move the routing
    pointer away from the owner. A row not newer than the stored one is accepted and ignored.
    """
    changes: list[CatalogValues] = []
    owned: list[Row] = []
    accepted = 0
    for row in valid:
        certificate_id, cd_time = row[0], row[CD_TIME_AT]
        entry = stored.get(certificate_id)
        if entry is not None:
            stored_via, stored_time, stored_operation = entry
            if stored_via != via_node and stored_operation != "D":
                add_anomalies(owned, e1_row(row), [OWNED_ELSEWHERE])
                continue
            if cd_time <= stored_time:
                accepted += 1
                continue
        stored[certificate_id] = (via_node, cd_time, row[CD_OPERATION_AT])
        changes.append(row)
        accepted += 1
    return _Settled(changes, accepted, owned)
