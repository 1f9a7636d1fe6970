"""制证签发 and 证照维护 at this node: every change lands in the store, the node's own catalog
entry and the outgoing E.1 table in one transaction, so aggregation can never miss it."""

from __future__ import annotations

from collections.abc import Iterable

from nodes.catalog.wake import wake_push
from nodes.context import NodeContext
from nodes.model.catalog import row_from_certificate
from nodes.model.certificate import Certificate
from nodes.model.codes import CdOperation
from nodes.store.catalog import CatalogRepo
from nodes.store.certificates import CertificateRepo
from nodes.store.outbox import OutboxRepo


def data_source_of(ctx: NodeContext) -> str:
    """A.3 data source: the topology assigns it below a province; others use their id's head."""
    return ctx.node.data_source or "000"


async def record_changes(
    ctx: NodeContext, certificates: Iterable[tuple[Certificate, CdOperation]]
) -> int:
    """Store each certificate with its cd_operation; return how many were written."""
    written = 0
    source = data_source_of(ctx)
    async with ctx.db.transaction() as tx:
        for cert, operation in certificates:
            now = ctx.clock.stamp()
            await CertificateRepo.save(tx, cert, now=now)
            row = row_from_certificate(cert, data_source=source, operation=operation, cd_time=now)
            await CatalogRepo.upsert(tx, row, via_node=ctx.node_id)
            if ctx.topology.parent(ctx.node_id) is not None:
                await OutboxRepo.append(tx, row)
            written += 1
    wake_push(ctx)  # push the increment now rather than at the next interval
    return written


async def issue(ctx: NodeContext, cert: Certificate) -> None:
    existing = await ctx.certificates.get(cert.CertificateID)
    operation = CdOperation.INSERT if existing is None else CdOperation.UPDATE
    await record_changes(ctx, [(cert, operation)])
