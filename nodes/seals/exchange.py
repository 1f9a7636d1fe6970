"""Seals travel up with the type catalogue (``nodes.catalog.types``), so the national node and
every node above the issuer can verify any certificate of its subtree.

The types message a node pushes to its parent carries ``"seals"``: the public seal records
written here since the parent's last acknowledgement (``updated_at`` after it), its own and those
its children pushed. The parent stores a seal only when the node holding it is in the pushing
child's subtree, and never replaces a seal with another record under the same SealID from a
different node; an unchanged seal is not rewritten, so repeated messages change nothing.
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import ValidationError

from nodes.context import NodeContext
from nodes.model.seal import Seal

log = structlog.get_logger()


async def seals_changed(ctx: NodeContext, acked: str) -> tuple[list[dict[str, Any]], str]:
    """The public records of seals written after ``acked`` and the newest ``updated_at``."""
    changed = await ctx.store.seals.changed_since(acked)
    upto = max((updated_at for _, updated_at in changed), default="")
    return [seal.to_record() for seal, _ in changed], upto


async def merge_seals(ctx: NodeContext, items: list[Any], *, child: str) -> int:
    """Store the seals ``child`` pushed up; return how many changed here."""
    below = {node.id for node in ctx.topology.subtree(child)}
    changed = 0
    for item in items:
        try:
            seal = Seal.model_validate(item)
        except ValidationError as exc:
            log.warning("seal.item_rejected", reason=str(exc).splitlines()[0], child=child)
            continue
        if seal.node not in below:
            log.warning("seal.item_rejected", reason=f"{seal.node} is not below {child}")
            continue
        stored = await ctx.store.seals.get(seal.SealID)
        if stored == seal:
            continue
        if stored is not None and stored.node != seal.node:
            log.warning("seal.item_rejected", reason=f"{seal.SealID} is held at {stored.node}")
            continue
        async with ctx.store.transaction() as tx:
            await ctx.store.seals.save(tx, seal, now=ctx.clock.stamp())
        changed += 1
    if changed:
        log.info("seal.catalogue_merged", changed=changed, child=child)
    return changed
