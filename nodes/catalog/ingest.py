"""The parent side of the exchange (SPEC §6.2 c): validate a child's batch and commit it once.

In ONE transaction: the valid rows go into the catalog with the child as routing pointer, into
this node's own outbox when it has a parent (provinces forward their subtree to national), and
the batch is recorded with its anomalies. A batch seen before is answered from that record and
changes nothing, so at-least-once delivery applies every batch exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from nodes.catalog.validate import (
    OWNED_ELSEWHERE,
    Row,
    Sender,
    Verdict,
    add_anomalies,
    dedupe_anomalies,
    validate_rows,
)
from nodes.context import NodeContext
from nodes.store.batches import LAST_EXCHANGE_AT, IngestedBatch, IngestedBatchRepo, NodeState
from nodes.store.catalog import CatalogRepo, EntryState
from nodes.store.outbox import OutboxRepo

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What the parent answers a batch with: the E.2 rows and the acknowledgement."""

    cd_batch: str
    accepted: int
    anomalies: list[dict[str, str]]
    repeated: bool  # the batch had been committed before; nothing was applied now

    def ack(self) -> dict[str, Any]:
        count = len(self.anomalies)
        return {"cd_batch": self.cd_batch, "accepted": self.accepted, "anomalies": count}

    def anomaly_message(self, parent_id: str) -> dict[str, Any]:
        return {"cd_batch": self.cd_batch, "from": parent_id, "anomalies": self.anomalies}


@dataclass(slots=True)
class _Settled:
    changes: list[Row]  # rows newer than the catalog's: applied and forwarded
    accepted: int  # valid rows, applied or already known
    owned: list[Row]  # E.2 rows of the ownership rule


@dataclass(frozen=True, slots=True)
class Incoming:
    """One catalog message from a child, waiting to be ingested."""

    sender: Sender
    cd_batch: str
    rows: list[Any]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch after validation, ready to commit."""

    incoming: Incoming
    verdict: Verdict


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
        Prepared(b, validate_rows(b.rows, b.sender, today=today, cd_batch=b.cd_batch))
        for b in batches
    ]


async def commit_batches(ctx: NodeContext, prepared: list[Prepared]) -> list[BatchOutcome]:
    """Commit validated batches in order, in ONE transaction; one outcome per batch.

    A backlog committed together costs one commit instead of many (on a slow disk the commit,
    not the rows, dominates). A batch already recorded, or repeated within the group, is
    answered from the record and changes nothing.
    """
    now = ctx.clock.stamp()
    forward = ctx.topology.parent(ctx.node_id) is not None
    outcomes: list[BatchOutcome] = []
    logged: list[tuple[Incoming, _Settled, list[Row]]] = []
    async with ctx.db.transaction() as tx:
        known = await IngestedBatchRepo.outcomes(tx, [p.incoming.cd_batch for p in prepared])
        ids = [row["certificate_source_id"] for p in prepared for row in p.verdict.valid]
        stored = await CatalogRepo.states(tx, ids)
        for item in prepared:
            batch, verdict = item.incoming, item.verdict
            earlier = known.get(batch.cd_batch)
            if earlier is not None:
                outcomes.append(
                    BatchOutcome(batch.cd_batch, earlier.accepted, earlier.anomalies, repeated=True)
                )
                continue
            settled = settle(verdict.valid, stored, batch.sender.node_id)
            anomalies = dedupe_anomalies(verdict.anomalies + settled.owned)
            await CatalogRepo.upsert_rows(tx, settled.changes, via_node=batch.sender.node_id)
            if forward and settled.changes:
                await OutboxRepo.append_rows(tx, settled.changes)
            record = IngestedBatch(
                batch.cd_batch, batch.sender.node_id, now, settled.accepted, anomalies
            )
            await IngestedBatchRepo.record(tx, record)
            known[batch.cd_batch] = record
            outcomes.append(BatchOutcome(batch.cd_batch, settled.accepted, anomalies, False))
            logged.append((batch, settled, anomalies))
        if logged:
            await NodeState.put(tx, LAST_EXCHANGE_AT, now)
    for entry in logged:
        _log_ingested(*entry)
    return outcomes


def _log_ingested(batch: Incoming, settled: _Settled, anomalies: list[Row]) -> None:
    log.info(
        "catalog.batch_ingested",
        cd_batch=batch.cd_batch,
        child=batch.sender.node_id,
        rows=len(batch.rows),
        accepted=settled.accepted,
        applied=len(settled.changes),
        anomalies=len(anomalies),
    )


def settle(valid: list[Row], stored: dict[str, EntryState], via_node: str) -> _Settled:
    """Apply the ownership rule and the cd_time order to valid rows, in batch order.

    A row for an id that another subtree owns (a stored entry through another node that is not
    cancelled) is an anomaly, whatever its cd_operation: applying it would move the routing
    pointer away from the owner. A row not newer than the stored one is accepted and ignored.
    """
    settled = _Settled(changes=[], accepted=0, owned=[])
    for row in valid:
        certificate_id = row["certificate_source_id"]
        entry = stored.get(certificate_id)
        if entry is not None:
            if entry.via_node != via_node and entry.cd_operation != "D":
                add_anomalies(settled.owned, row, [OWNED_ELSEWHERE])
                continue
            if row["cd_time"] <= entry.cd_time:
                settled.accepted += 1
                continue
        stored[certificate_id] = EntryState(via_node, row["cd_time"], row["cd_operation"])
        settled.changes.append(row)
        settled.accepted += 1
    return settled
