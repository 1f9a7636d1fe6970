"""First-start (and every-start) preparation of a node, before it serves:

- the admin key file ``<state>/<node>/admin.key`` (0600, random hex), created once;
- a peer account ``peer-<neighbour>`` for the parent and each child, bound to the neighbour's host;
- the built-in certificate types (``nodes.synth.CATALOGUE``), stored approved;
- on the very first start when ``settings.seed`` is set, a seal (SM2 key pair) for every
  authority issuing here (``nodes.synth.issuers``), then synthetic certificates, sealed, written
  through ``record_changes`` (as new: cd_operation I, or D for 注销/吊销) so they reach the
  catalog and the outbox.
  ``node_state['seeded']`` remembers it: a restart never seeds again.

Every step is idempotent.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import structlog

from nodes.context import NodeContext
from nodes.issuing import record_changes
from nodes.model.catalog import operation_for
from nodes.seals.sealing import ensure_seals
from nodes.store.types import BUILTIN
from nodes.synth import CATALOGUE, generate_for
from nodes.synth.issuers import issuers_of

log = structlog.get_logger()

SEEDED = "seeded"  # node_state key: the seed the node's synthetic certificates came from


async def prepare(ctx: NodeContext) -> None:
    created_key = ensure_admin_key(ctx.settings.admin_key_path)
    peers = await ensure_peer_accounts(ctx)
    types = await ctx.store.types.add_missing(
        list(CATALOGUE), defined_at_node=BUILTIN, approved=True, now=ctx.clock.stamp()
    )
    seeded = await seed(ctx)
    log.info(
        "node.prepared",
        admin_key_created=created_key,
        peer_accounts=peers,
        types_added=types,
        certificates_seeded=seeded,
    )


def ensure_admin_key(path: Path) -> bool:
    """Create the admin key file (owner read/write only) unless it exists; True if created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(32) + "\n")
    return True


async def ensure_peer_accounts(ctx: NodeContext) -> list[str]:
    """``peer-<id>`` for every neighbour, bound to its host (kept current if the host moved)."""
    created = []
    for neighbour in ctx.topology.neighbours(ctx.node_id):
        account = await ctx.store.accounts.ensure_peer(
            neighbour.id, ip=neighbour.host, name=neighbour.name, now=ctx.clock.stamp()
        )
        created.append(account.account_id)
    return created


async def seed(ctx: NodeContext) -> int:
    """Synthetic certificates on the first start; how many were written (0 on later starts)."""
    settings = ctx.settings
    if settings.seed is None or await ctx.store.state.get(SEEDED) is not None:
        return 0
    mine = generate_for(ctx.topology, ctx.node_id, seed=settings.seed, per_node=settings.per_node)
    authorities = [(issuer.name, issuer.code) for issuer in issuers_of(ctx.node)]
    authorities += [
        (cert.CertificateIssuingAuthorityName, cert.CertificateIssuingAuthorityCode)
        for cert in mine
    ]
    seals = await ensure_seals(ctx, authorities)  # before the certificates they seal
    written = await record_changes(ctx, [(cert, operation_for(cert, new=True)) for cert in mine])
    async with ctx.store.transaction() as tx:
        await ctx.store.state.put(tx, SEEDED, settings.seed)
    log.info("certificates.seeded", seed=settings.seed, count=written, seals=seals)
    return written
