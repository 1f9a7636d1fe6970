"""Granting and withdrawing at the node holding the certificate (§8.1.3, §8.1.4).

``authorise`` checks, in this order, and changes nothing when a check fails: both holders named
(code and name), the grantee not the grantor, the certificate held here, the grantor its holder
(code and name as the certificate records them), the certificate usable (01), no active grant of
it to the grantee. A grant (or a withdrawal) is written with this node's grant index in one
transaction, and the exchange is asked to publish the node's grants now
(``ctx.wakeups.grants``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson

from nodes.authorisation.errors import (
    AlreadyAuthorised,
    AlreadyWithdrawn,
    CertificateNotHeld,
    CertificateNotUsable,
    GrantInvalid,
    GrantUnknown,
    NotTheHolder,
    SelfAuthorisation,
)
from nodes.context import NodeContext
from nodes.store.authorisations import Grant, IndexEntry
from nodes.store.db import Transaction

MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Holder:
    code: str
    name: str

    @classmethod
    def of(cls, role: str, code: object, name: object) -> Holder:
        return cls(_text(role, "code", code), _text(role, "name", name))


def _text(role: str, what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise GrantInvalid(f"{role} {what} is required (at most {MAX_TEXT} characters)")
    return value.strip()


def index_entries(node_id: str, grants: list[Grant]) -> list[IndexEntry]:
    """What this node publishes of its active grants."""
    return [
        IndexEntry(
            node_id,
            g.certificate_id,
            g.type_code,
            g.number,
            g.grantor_code,
            g.grantor_name,
            g.grantee_code,
            g.grantee_name,
        )
        for g in grants
        if g.active
    ]


async def authorise(
    ctx: NodeContext, certificate_id: str, grantor: Holder, grantee: Holder, *, reason: str
) -> Grant:
    """Authorise the certificate ``certificate_id`` held here to ``grantee``."""
    if grantee.code == grantor.code:
        raise SelfAuthorisation(
            f"a holder cannot authorise a certificate to themself ({grantor.code})"
        )
    raw = await ctx.store.certificates.record(certificate_id)
    if raw is None:
        raise CertificateNotHeld(f"no certificate {certificate_id} at {ctx.node_id}")
    record = orjson.loads(raw)
    if (record.get("CertificateHolderCode"), record.get("CertificateHolderName")) != (
        grantor.code,
        grantor.name,
    ):
        raise NotTheHolder(
            f"{grantor.name} ({grantor.code}) does not hold {certificate_id}: only its holder"
            " may authorise it"
        )
    status = record.get("CertificateStatus")
    if status != "01":
        raise CertificateNotUsable(f"{certificate_id} has status {status}: only 01 is authorised")
    if await ctx.store.authorisations.active_of(certificate_id, grantee.code) is not None:
        raise AlreadyAuthorised(f"{certificate_id} is already authorised to {grantee.code}")
    grant = Grant(
        0,
        certificate_id,
        str(record.get("CertificateTypeCode", "")),
        str(record.get("CertificateNumber", "")),
        grantor.code,
        grantor.name,
        grantee.code,
        grantee.name,
        reason[:MAX_TEXT],
        ctx.clock.stamp(),
    )
    async with ctx.store.transaction() as tx:
        grant_id = await ctx.store.authorisations.add(tx, grant)
        await _reindex(ctx, tx)
    ctx.wakeups.grants.set()
    return replace(grant, id=grant_id)


async def withdraw(ctx: NodeContext, grant_id: int, *, reason: str) -> Grant:
    """Withdraw the active grant ``grant_id`` made here."""
    grant = await ctx.store.authorisations.get(grant_id)
    if grant is None:
        raise GrantUnknown(f"no authorisation {grant_id} at {ctx.node_id}")
    if not grant.active:
        raise AlreadyWithdrawn(f"authorisation {grant_id} was withdrawn at {grant.withdrawn_at}")
    async with ctx.store.transaction() as tx:
        await ctx.store.authorisations.withdraw(
            tx, grant_id, at=ctx.clock.stamp(), reason=reason[:MAX_TEXT]
        )
        await _reindex(ctx, tx)
    ctx.wakeups.grants.set()
    withdrawn = await ctx.store.authorisations.get(grant_id)
    assert withdrawn is not None
    return withdrawn


async def _reindex(ctx: NodeContext, tx: Transaction) -> None:
    """This node's entries in its own grant index: its active grants (in the transaction)."""
    active = await ctx.store.authorisations.listing(active_only=True)
    entries = index_entries(ctx.node_id, active)
    await ctx.store.authorisations.replace_index(tx, ctx.node_id, entries)
