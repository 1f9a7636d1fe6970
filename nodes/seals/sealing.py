"""Seals at work: create an authority's seal, seal a certificate, check a certificate's seal.

A certificate is sealed by the newest seal of its CertificateIssuingAuthorityCode held at this
node and valid today: ``CertificateSealID`` names it, ``CertificateSignature`` is the base64 DER
SM2 signature over ``canonical_data`` (which covers the SealID too). ``nodes.issuing`` seals every
version and status it writes; ``nodes.lifecycle`` refuses to issue or change a certificate whose
authority has no such seal here (``SealMissing``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Any

import structlog
from pydantic import ValidationError

from nodes.context import NodeContext
from nodes.errors import SealInvalid, SealMissing
from nodes.model.certificate import Certificate
from nodes.model.seal import Seal, seal_id
from nodes.seals import sm2
from nodes.seals.canonical import SEAL_ID, SIGNATURE, canonical_data
from nodes.seals.keys import read_private_key, write_private_key
from nodes.seals.signing import SigningKey

log = structlog.get_logger()

DEFAULT_VALIDITY_DAYS = 3650
MAX_SEALS = 99  # per authority and node: the SealID's two-digit sequence


class SealProblem(StrEnum):
    """Why a certificate's seal does not hold (the code in ``verifyMessage``)."""

    UNSEALED = "UNSEALED"
    NO_SEAL_FOR_AUTHORITY = "NO_SEAL_FOR_AUTHORITY"
    SEAL_UNKNOWN = "SEAL_UNKNOWN"
    SEAL_OF_ANOTHER_AUTHORITY = "SEAL_OF_ANOTHER_AUTHORITY"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"


async def create_seal(
    ctx: NodeContext,
    *,
    authority_name: str,
    authority_code: str,
    seal_name: str = "",
    valid_from: str = "",
    valid_to: str = "",
) -> Seal:
    """A new SM2 key pair and seal record for an authority issuing at this node."""
    held = await ctx.store.seals.of_authority(authority_code, node=ctx.node_id)
    sequence = max((int(seal.SealID[-2:]) for seal in held), default=0) + 1
    if sequence > MAX_SEALS:
        raise SealInvalid(f"{authority_code} has {MAX_SEALS} seals at {ctx.node_id} already")
    today = ctx.clock.today()
    public_key, private_key = sm2.generate_key_pair()
    try:
        seal = Seal(
            SealID=seal_id(authority_code, sequence),
            SealName=seal_name or f"{authority_name}电子印章",
            CertificateIssuingAuthorityName=authority_name,
            CertificateIssuingAuthorityCode=authority_code,
            publicKey=public_key.hex(),
            validFrom=valid_from or today.isoformat(),
            validTo=valid_to or (today + timedelta(days=DEFAULT_VALIDITY_DAYS)).isoformat(),
            node=ctx.node_id,
        )
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'seal'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise SealInvalid(f"invalid seal: {detail}") from None
    write_private_key(ctx.settings.node_dir, seal.SealID, private_key)
    async with ctx.store.transaction() as tx:
        await ctx.store.seals.save(tx, seal, now=ctx.clock.stamp())
    ctx.wakeups.push_now()  # the public key travels up with the type catalogue
    log.info("seal.created", seal_id=seal.SealID, authority_code=authority_code)
    return seal


async def ensure_seals(ctx: NodeContext, authorities: Iterable[tuple[str, str]]) -> int:
    """A seal for every (name, code) authority that has none here yet; how many were made."""
    made = 0
    for name, code in sorted(set(authorities), key=lambda pair: pair[1]):
        if not await ctx.store.seals.of_authority(code, node=ctx.node_id):
            await create_seal(ctx, authority_name=name, authority_code=code)
            made += 1
    return made


async def current_seal(ctx: NodeContext, authority_code: str) -> Seal | None:
    """The newest seal of the authority held here and valid today, if any."""
    today = ctx.clock.today_iso()
    for seal in await ctx.store.seals.of_authority(authority_code, node=ctx.node_id):
        if seal.valid_on(today):
            return seal
    return None


async def require_seal(ctx: NodeContext, cert: Certificate) -> Seal:
    code = cert.CertificateIssuingAuthorityCode
    seal = await current_seal(ctx, code)
    if seal is None:
        raise SealMissing(
            f"{cert.CertificateIssuingAuthorityName} ({code}) has no valid seal at {ctx.node_id}:"
            " create one (POST /admin/seals) before issuing or changing its certificates"
        )
    return seal


async def seal_certificate(ctx: NodeContext, cert: Certificate) -> Certificate:
    """The certificate sealed by its authority's current seal here; as it is when there is none
    (a record stored on purpose with its faults, an authority without a seal)."""
    seal = await current_seal(ctx, cert.CertificateIssuingAuthorityCode)
    if seal is None:
        return cert
    return sealed(cert, seal, read_private_key(ctx.settings.node_dir, seal.SealID))


async def signing_key(ctx: NodeContext, record: Mapping[str, Any]) -> SigningKey | None:
    """The seal that sealed ``record`` with its private key, when this node holds it (the files
    of a certificate are signed by the seal that sealed it); None otherwise."""
    seal = await ctx.store.seals.get(str(record.get(SEAL_ID) or ""))
    if seal is None or seal.node != ctx.node_id:
        return None
    return SigningKey(seal, read_private_key(ctx.settings.node_dir, seal.SealID))


def sealed(cert: Certificate, seal: Seal, private_key: bytes) -> Certificate:
    record = {**cert.to_record(), SEAL_ID: seal.SealID}
    signature = sm2.sign(private_key, seal.public_key, canonical_data(record))
    update = {SEAL_ID: seal.SealID, SIGNATURE: base64.b64encode(signature).decode("ascii")}
    return cert.model_copy(update=update)


async def seal_problem(ctx: NodeContext, record: Mapping[str, Any]) -> str | None:
    """None when the record's seal holds here, else ``CODE: why`` (a ``SealProblem``)."""
    seal_ref, signature_text = record.get(SEAL_ID), record.get(SIGNATURE)
    authority = str(record.get("CertificateIssuingAuthorityCode", ""))
    if not seal_ref or not signature_text or not isinstance(signature_text, str):
        return f"{SealProblem.UNSEALED}: the certificate carries no seal signature"
    seal = await ctx.store.seals.get(str(seal_ref))
    if seal is None:
        if not await ctx.store.seals.of_authority(authority, node=ctx.node_id):
            return (
                f"{SealProblem.NO_SEAL_FOR_AUTHORITY}: the issuing authority {authority} has no"
                f" seal at {ctx.node_id}"
            )
        return f"{SealProblem.SEAL_UNKNOWN}: no seal {seal_ref} at {ctx.node_id}"
    if seal.CertificateIssuingAuthorityCode != authority:
        return (
            f"{SealProblem.SEAL_OF_ANOTHER_AUTHORITY}: seal {seal.SealID} belongs to"
            f" {seal.CertificateIssuingAuthorityCode}, not to the issuing authority {authority}"
        )
    try:
        signature = base64.b64decode(signature_text, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not sm2.verify(seal.public_key, canonical_data(record), signature):
        return (
            f"{SealProblem.SIGNATURE_INVALID}: the signature of seal {seal.SealID} does not match"
            " the certificate data (altered after sealing, or signed with another key)"
        )
    return None
