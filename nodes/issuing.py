"""制证签发 and 证照维护 at this node: every change lands in the store, the node's own catalog
entry, the outgoing E.1 table and the certificate's history in one transaction, so aggregation
can never miss it. Every certificate written is sealed first (``nodes.seals.sealing``): its
authority's current seal at this node signs its canonical data, status changes included.

The cd_operation of each change is ``nodes.model.catalog.operation_for``'s, wherever it comes
from (the lifecycle operations of ``nodes.lifecycle``, first-start seeding).
"""

from __future__ import annotations

from collections.abc import Iterable

from nodes.context import NodeContext
from nodes.model.catalog import data_source_of, row_from_certificate
from nodes.model.certificate import Certificate
from nodes.model.codes import CdOperation
from nodes.model.lifecycle import HistoryEntry
from nodes.seals.sealing import seal_certificate
from nodes.store.db import Transaction


async def write_changes(
    ctx: NodeContext,
    tx: Transaction,
    certificates: Iterable[tuple[Certificate, CdOperation]],
    history: Iterable[HistoryEntry] = (),
) -> int:
    """Store each certificate with its cd_operation inside ``tx``; return how many."""
    written = 0
    store, source = ctx.store, data_source_of(ctx.node)
    forward = ctx.topology.parent(ctx.node_id) is not None
    for unsealed, operation in certificates:
        cert = await seal_certificate(ctx, unsealed)
        now = ctx.clock.stamp()
        await store.certificates.save(tx, cert, now=now)
        row = row_from_certificate(cert, data_source=source, operation=operation, cd_time=now)
        await store.catalog.upsert(tx, row, via_node=ctx.node_id)
        if forward:
            await store.outbox.append(tx, row)
        written += 1
    for entry in history:
        await store.history.add(tx, entry)
    return written


async def record_changes(
    ctx: NodeContext, certificates: Iterable[tuple[Certificate, CdOperation]]
) -> int:
    """Store each certificate with its cd_operation; return how many were written."""
    async with ctx.store.transaction() as tx:
        written = await write_changes(ctx, tx, certificates)
    ctx.wakeups.push_now()  # push the increment now rather than at the next interval
    return written
