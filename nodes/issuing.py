"""制证签发 and 证照维护 at this node: every change lands in the store, the node's own catalog
entry and the outgoing E.1 table in one transaction, so aggregation can never miss it.

The cd_operation of each change is ``nodes.model.catalog.operation_for``'s, wherever it comes
from (the admin API, first-start seeding, an anomaly's correction).
"""

from __future__ import annotations

from collections.abc import Iterable

from nodes.context import NodeContext
from nodes.model.catalog import data_source_of, operation_for, row_from_certificate
from nodes.model.certificate import Certificate
from nodes.model.codes import CdOperation


async def record_changes(
    ctx: NodeContext, certificates: Iterable[tuple[Certificate, CdOperation]]
) -> int:
    """Store each certificate with its cd_operation; return how many were written."""
    written = 0
    store, source = ctx.store, data_source_of(ctx.node)
    forward = ctx.topology.parent(ctx.node_id) is not None
    async with store.transaction() as tx:
        for cert, operation in certificates:
            now = ctx.clock.stamp()
            await store.certificates.save(tx, cert, now=now)
            row = row_from_certificate(cert, data_source=source, operation=operation, cd_time=now)
            await store.catalog.upsert(tx, row, via_node=ctx.node_id)
            if forward:
                await store.outbox.append(tx, row)
            written += 1
    ctx.wakeups.push_now()  # push the increment now rather than at the next interval
    return written


async def issue(ctx: NodeContext, cert: Certificate) -> CdOperation:
    """制证签发: a new certificate, or a whole new record for one held here."""
    new = not await ctx.store.certificates.exists(cert.CertificateID)
    operation = operation_for(cert, new=new)
    await record_changes(ctx, [(cert, operation)])
    return operation


async def maintain(ctx: NodeContext, cert: Certificate) -> CdOperation:
    """证照维护: a corrected record or a new status of a certificate held here."""
    operation = operation_for(cert, new=False)
    await record_changes(ctx, [(cert, operation)])
    return operation
