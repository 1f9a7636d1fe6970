"""The type catalogue across the cascade (目录维护, SPEC §7; Table 18): define, approve, aggregate.

- A type defined at a node (``define``) is stored there unapproved.
- Every node with a parent pushes the types it learnt or changed (not the built-in ones) up on
  ``types_topic(parent)``, and pushes them again every ``ack_timeout`` until the parent
  acknowledges the newest ``updated_at`` it sent (``types_upto`` on the ack topic). Merging is
  idempotent, so a repeated message changes nothing.
- The public records of seals (``nodes.seals.exchange``) ride along in the same message.
- The province of the defining node approves it (national for nodes outside any province); the
  approval changes ``updated_at``, so the approved type travels further up, and the province sends
  it down its subtree (best effort, on the children's ack topic) so every node there knows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError

from gateway.core.topology import Topology
from nodes.context import NodeContext
from nodes.model.types import CertificateType
from nodes.seals.exchange import seals_changed
from nodes.store.batches import TYPES_ACKED_UPTO
from nodes.store.types import BUILTIN, StoredType, TypeRepo

log = structlog.get_logger()


class TypeRefused(Exception):
    """A define or approve request that cannot be carried out (``.status``: HTTP status)."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


def approver_of(topology: Topology, defined_at_node: str) -> str:
    """The node that approves a type: the definer's province, else the national node."""
    if defined_at_node not in topology.by_id:
        return topology.root().id
    province = topology.province_of(defined_at_node)
    return province.id if province is not None else topology.root().id


def type_view(stored: StoredType) -> dict[str, Any]:
    """The admin listing of a type: Table 18 items, template, where defined, approved or not."""
    return {
        **stored.type.model_dump(mode="json"),
        "defined_at_node": stored.defined_at_node,
        "approved": stored.approved,
        "updated_at": stored.updated_at,
    }


def _wire(stored: StoredType) -> dict[str, Any]:
    return {
        "type": stored.type.model_dump(mode="json"),
        "defined_at_node": stored.defined_at_node,
        "approved": stored.approved,
    }


async def define(ctx: NodeContext, ctype: CertificateType) -> StoredType:
    repo = ctx.store.types
    if await repo.get(ctype.CertificateTypeCode) is not None:
        raise TypeRefused(f"type {ctype.CertificateTypeCode} is already defined", status=409)
    await repo.define(ctype, defined_at_node=ctx.node_id, approved=False, now=ctx.clock.stamp())
    log.info("type.defined", type_code=ctype.CertificateTypeCode)
    return await _get(repo, ctype.CertificateTypeCode)


async def approve(ctx: NodeContext, type_code: str) -> StoredType:
    repo = ctx.store.types
    stored = await repo.get(type_code)
    if stored is None:
        raise TypeRefused(f"no type {type_code}", status=404)
    if stored.approved:
        return stored
    approver = approver_of(ctx.topology, stored.defined_at_node)
    if approver != ctx.node_id:
        raise TypeRefused(
            f"type {type_code} defined at {stored.defined_at_node} is approved by {approver}",
            status=409,
        )
    await repo.approve(type_code, now=ctx.clock.stamp())
    log.info("type.approved", type_code=type_code, defined_at_node=stored.defined_at_node)
    return await _get(repo, type_code)


async def _get(repo: TypeRepo, type_code: str) -> StoredType:
    stored = await repo.get(type_code)
    if stored is None:  # pragma: no cover - written just before
        raise TypeRefused(f"no type {type_code}", status=404)
    return stored


# -- the exchange ---------------------------------------------------------------------------------
@dataclass(slots=True)
class TypesSent:
    upto: str
    at: float


async def types_message(ctx: NodeContext) -> dict[str, Any] | None:
    """The types (and seals, ``nodes.seals.exchange``) changed here since the parent's last
    acknowledgement, None when none."""
    acked = await ctx.store.state.get(TYPES_ACKED_UPTO) or ""
    # cheap: the push loop asks on every round
    newest = max(
        await ctx.store.types.last_change() or "", await ctx.store.seals.last_change() or ""
    )
    if newest <= acked:
        return None
    changed = [
        stored
        for stored in await ctx.store.types.all()
        if stored.defined_at_node != BUILTIN and stored.updated_at > acked
    ]
    seals, seals_upto = await seals_changed(ctx, acked)
    if not changed and not seals:
        return None
    upto = max([seals_upto, *(stored.updated_at for stored in changed)])
    return {
        "from": ctx.node_id,
        "upto": upto,
        "types": [_wire(stored) for stored in changed],
        "seals": seals,
    }


async def acknowledge_types(ctx: NodeContext, upto: str) -> None:
    acked = await ctx.store.state.get(TYPES_ACKED_UPTO) or ""
    if upto > acked:
        async with ctx.store.transaction() as tx:
            await ctx.store.state.put(tx, TYPES_ACKED_UPTO, upto)
        log.info("type.push_acknowledged", upto=upto)


async def merge_types(
    ctx: NodeContext, items: list[Any], *, child: str | None = None, approved: bool = False
) -> int:
    """Store the types ``child`` pushed up (or a parent sent down, ``approved``); return changes.

    A child may only report types defined in its own subtree. Approval is never taken back, a
    built-in type is never replaced, and an unchanged type is not rewritten (so repeated
    messages change nothing and are not forwarded again).
    """
    repo = ctx.store.types
    below = None if child is None else {node.id for node in ctx.topology.subtree(child)}
    changed = 0
    for item in items:
        parsed = _parse(item)
        if parsed is None:
            continue
        ctype, defined_at_node, incoming_approved = parsed
        if below is not None and defined_at_node not in below:
            log.warning("type.item_rejected", reason=f"{defined_at_node} is not below {child}")
            continue
        stored = await repo.get(ctype.CertificateTypeCode)
        if stored is not None and stored.defined_at_node == BUILTIN:
            continue
        now_approved = incoming_approved or approved or (stored is not None and stored.approved)
        if stored is not None and stored.type == ctype and stored.approved == now_approved:
            continue
        await repo.define(
            ctype, defined_at_node=defined_at_node, approved=now_approved, now=ctx.clock.stamp()
        )
        changed += 1
    if changed:
        log.info("type.catalogue_merged", changed=changed)
    return changed


def _parse(item: Any) -> tuple[CertificateType, str, bool] | None:
    if not isinstance(item, dict) or not isinstance(item.get("defined_at_node"), str):
        log.warning("type.item_rejected", reason="not a type item")
        return None
    try:
        ctype = CertificateType.model_validate(item.get("type"))
    except ValidationError as exc:
        log.warning("type.item_rejected", reason=str(exc).splitlines()[0])
        return None
    return ctype, item["defined_at_node"], item.get("approved") is True


async def approved_notice(ctx: NodeContext, type_code: str) -> dict[str, Any] | None:
    """The message that carries an approved type down to the children."""
    stored = await ctx.store.types.get(type_code)
    if stored is None or not stored.approved:
        return None
    return {"from": ctx.node_id, "types_approved": [_wire(stored)]}
