"""The child's front-end E.2 table (SPEC §6.2 d, e): store what the parent rejected, correct it.

Automatic correction re-derives the row from the certificate this node holds: whatever the
parent rejected that the stored certificate gets right (a wrong data_source, an unknown
cd_operation, a mangled column) is pushed again as a fresh row. When the certificate itself is
wrong (or the row names a certificate this node does not hold, e.g. one a province forwarded), the
anomaly waits for the administrator, whose correction emits a new row through
``nodes.issuing.record_changes``. Either way the anomaly is resolved when a later batch carrying
that certificate is acknowledged without one (``push.acknowledge``).

A province that receives anomalies of rows it forwarded for its subtree records, for each, the
child the row came through (``relay_children``); the push loop passes them on to that child until
it confirms storing them, and so on down, so that the node holding the certificate learns what
national rejected even when it was offline at the time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import structlog
from pydantic import ValidationError

from nodes.catalog.validate import Row, clean_row, dedupe_anomalies
from nodes.context import NodeContext
from nodes.errors import StoreError
from nodes.model.catalog import data_source_of, operation_for, row_from_certificate
from nodes.model.certificate import Certificate
from nodes.model.codes import CdOperation
from nodes.store.schema import E1_COLUMNS

log = structlog.get_logger()

_COMPARED = tuple(column for column in E1_COLUMNS if column not in ("cd_time", "cd_batch"))


def anomaly_rows(cd_batch: str, raw_rows: list[Any]) -> list[Row]:
    """The E.2 rows of an anomaly message as string dicts of ``cd_batch``, one per key."""
    rows = []
    for raw in raw_rows:
        if isinstance(raw, dict):
            row = clean_row(raw, cd_batch)
            row["error_remark"] = str(raw.get("error_remark") or "")
            rows.append(row)
    return dedupe_anomalies(rows)


async def receive_anomalies(ctx: NodeContext, cd_batch: str, raw_rows: list[Any]) -> int:
    """Store the anomalies of one batch (each once) and queue automatic corrections.

    Returns how many anomalies were new.
    """
    store = ctx.store
    known = await store.anomalies.keys_of_batch(cd_batch)
    fresh = [
        row
        for row in anomaly_rows(cd_batch, raw_rows)
        if (row["certificate_source_id"], row["error_remark"]) not in known
    ]
    if not fresh:
        return 0
    corrections = await corrections_for(ctx, fresh)
    relay_to = await relay_children(ctx, fresh)
    async with store.transaction() as tx:
        await store.anomalies.add(tx, fresh, received_at=ctx.clock.stamp(), relay_to=relay_to)
        if corrections:
            await store.outbox.append_rows(tx, corrections)
    fields: dict[str, Any] = {
        "cd_batch": cd_batch,
        "anomalies": len(fresh),
        "remarks": dict(Counter(row["error_remark"] for row in fresh)),
        "certificate_ids": sorted({row["certificate_source_id"] for row in fresh})[:10],
    }
    log.warning("catalog.anomalies_received", **fields)
    ctx.events.emit("anomaly.received", **fields)
    if corrections:
        log.info("catalog.anomalies_corrected", cd_batch=cd_batch, rows=len(corrections))
        ctx.wakeups.push_now()
    return len(fresh)


async def relay_children(ctx: NodeContext, rows: list[Row]) -> dict[str, str]:
    """certificate_source_id → the child this node's catalog reaches it through, for the rows
    that came from a child (not this node's own certificates)."""
    children = {child.id for child in ctx.topology.children(ctx.node_id)}
    if not children or not rows:
        return {}
    ids = sorted({row["certificate_source_id"] for row in rows})
    entries = await ctx.store.catalog.states(ctx.store.db, ids)
    vias = {certificate_id: via_node for certificate_id, (via_node, _, _) in entries.items()}
    return {certificate_id: via for certificate_id, via in vias.items() if via in children}


async def corrections_for(ctx: NodeContext, anomalies: list[Row]) -> list[Row]:
    """A fresh row for each rejected certificate this node holds, when it differs from the
    rejected one (a certificate that is itself wrong gives the same row: no correction)."""
    corrections: list[Row] = []
    first: dict[str, Row] = {}
    for row in anomalies:
        first.setdefault(row["certificate_source_id"], row)
    for certificate_id, rejected in first.items():
        cert = await _held(ctx, certificate_id)
        if cert is None:
            continue
        corrected = _row_of(ctx, cert, rejected)
        if any(corrected[c] != rejected[c] for c in _COMPARED):
            corrections.append(corrected)
    return corrections


async def _held(ctx: NodeContext, certificate_id: str) -> Certificate | None:
    if not certificate_id:
        return None
    try:
        return await ctx.store.certificates.get(certificate_id)
    except (ValidationError, StoreError):  # a record stored unchecked: the admin must correct it
        return None


def _row_of(ctx: NodeContext, cert: Certificate, rejected: Row) -> Row:
    """The row the certificate gives, as new (I) when the rejected row said so, else U (D when
    the certificate is 注销/吊销)."""
    operation = operation_for(cert, new=rejected["cd_operation"] == CdOperation.INSERT)
    row = row_from_certificate(
        cert, data_source=data_source_of(ctx.node), operation=operation, cd_time=ctx.clock.stamp()
    )
    return dict(row.model_dump())
