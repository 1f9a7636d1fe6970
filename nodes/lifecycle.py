"""证照维护: the lifecycle operations of a node's certificates (the table is in
``nodes.model.lifecycle``; README "Certificate lifecycle").

``issue`` and ``apply`` check the operation against the table, then write every version it
touches, their catalog increments (I/U/D, ``operation_for``) and their history entries in one
transaction, read and written under the store's write lock so two operations on one certificate
never both pass the check. A refused operation raises ``LifecycleRefused`` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson
from pydantic import ValidationError

from nodes.context import NodeContext
from nodes.errors import (
    CertificateUnknown,
    ChangeInvalid,
    ReasonMissing,
    TransitionNotAllowed,
    TransitionUnknown,
)
from nodes.issuing import write_changes
from nodes.model.catalog import operation_for
from nodes.model.certificate import Certificate, unvalidated
from nodes.model.codes import CdOperation
from nodes.model.codes import CertificateStatus as Status
from nodes.model.dates import normalise_optional_date
from nodes.model.identifiers import make_certificate_id, parse_certificate_id
from nodes.model.lifecycle import (
    MAX_VERSION,
    STATUS_TRANSITIONS,
    UNCHANGEABLE,
    VERSIONING,
    HistoryEntry,
    Transition,
    allowed_from,
)
from nodes.seals.sealing import require_seal
from nodes.store.db import Transaction

Record = dict[str, Any]
Written = list[tuple[Certificate, CdOperation]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an operation left: the certificate (for a change, the new version) and, for a
    change, the version it replaced."""

    certificate: Record
    previous: Record | None = None

    def public(self) -> dict[str, Any]:
        body: dict[str, Any] = {"certificate": self.certificate}
        if self.previous is not None:
            body["previous"] = self.previous
        return body


def transition_named(name: str) -> Transition:
    try:
        return Transition(name)
    except ValueError:
        known = ", ".join(t.value for t in Transition if t is not Transition.ISSUE)
        raise TransitionUnknown(f"unknown transition {name!r}; one of: {known}") from None


def certificate_of(record: Record, *, validate: bool = True) -> Certificate:
    """The Certificate model; with ``validate=False`` the values are kept as given (fault
    injection: a record the parent's catalog validation must reject), types still checked."""
    unknown = set(record) - set(Certificate.model_fields)
    if unknown:
        raise ChangeInvalid(f"unknown fields: {', '.join(sorted(unknown))}")
    try:
        return Certificate.model_validate(record) if validate else unvalidated(record)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'certificate'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise ChangeInvalid(f"invalid certificate: {detail}") from None
    except ValueError as exc:
        raise ChangeInvalid(f"invalid certificate: {exc}") from None


async def issue(ctx: NodeContext, cert: Certificate, *, sealed: bool = True) -> Record:
    """制证签发: a certificate new to this node (an issued CertificateID is never reissued),
    sealed by its authority's seal here (``SealMissing`` without one, unless ``sealed`` is False:
    a record stored on purpose with its faults is sealed only when a seal happens to exist)."""
    if sealed:
        await require_seal(ctx, cert)
    async with ctx.store.transaction() as tx:
        if await ctx.store.certificates.exists(cert.CertificateID):
            raise TransitionNotAllowed(
                f"{cert.CertificateID} is already issued here; change it for a new version"
            )
        operation = operation_for(cert, new=True)
        entry = HistoryEntry(
            cert.CertificateID,
            Transition.ISSUE.value,
            "",
            cert.CertificateStatus.value,
            cert.CertificateStatusChangeReason,
            ctx.clock.stamp(),
            cd_operation=operation.value,
        )
        await write_changes(ctx, tx, [(cert, operation)], [entry])
    ctx.wakeups.push_now()
    return await _stored(ctx, cert.CertificateID)


async def apply(
    ctx: NodeContext,
    certificate_id: str,
    transition: Transition,
    *,
    reason: str,
    fields: Record | None = None,
    validate: bool = True,
) -> Outcome:
    """Run one operation of the table on a certificate held here (not issue)."""
    if transition is Transition.ISSUE:
        raise TransitionUnknown("issue is POST /admin/certificates, not an operation on one")
    reason = reason.strip()
    if not reason and transition is not Transition.CORRECT:
        raise ReasonMissing(f"{transition.value} needs a reason")
    async with ctx.store.transaction() as tx:
        record = await _held(ctx, certificate_id)
        status = _status_of(record)
        if status not in allowed_from(transition):
            raise TransitionNotAllowed(_not_from(transition, status, certificate_id))
        if transition in STATUS_TRANSITIONS:
            outcome = await _set_status(ctx, tx, record, transition, reason)
        elif transition in VERSIONING:
            outcome = await _new_version(
                ctx, tx, record, transition, reason=reason, fields=fields or {}
            )
        else:
            outcome = await _correct(ctx, tx, record, fields or {}, validate=validate)
    ctx.wakeups.push_now()
    return outcome


def _not_from(transition: Transition, status: Status, certificate_id: str) -> str:
    if status in (Status.CANCELLED, Status.REVOKED):
        return f"{certificate_id} is {status.value} ({_NAMES[status]}): final, no {transition}"
    allowed = ", ".join(sorted(s.value for s in allowed_from(transition)))
    return f"{transition} is not allowed from status {status.value} (only from {allowed})"


_NAMES = MappingProxyType({Status.CANCELLED: "注销", Status.REVOKED: "吊销"})


async def _stored(ctx: NodeContext, certificate_id: str) -> Record:
    """The record as written (sealed), read back inside the writing transaction."""
    stored = await ctx.store.certificates.record_now(certificate_id)
    if stored is None:  # pragma: no cover - written just before
        raise CertificateUnknown(f"no certificate {certificate_id} at {ctx.node_id}")
    record: Record = orjson.loads(stored)
    return record


async def _held(ctx: NodeContext, certificate_id: str) -> Record:
    stored = await ctx.store.certificates.record(certificate_id)
    if stored is None:
        raise CertificateUnknown(f"no certificate {certificate_id} at {ctx.node_id}")
    record: Record = orjson.loads(stored)
    return record


def _status_of(record: Record) -> Status:
    try:
        return Status(record.get("CertificateStatus", Status.NORMAL.value))
    except ValueError:
        return Status.NORMAL


def _keeping_faults(record: Record) -> Certificate:
    """A stored record with new values: validated when it can be, else as stored (a record
    stored without validation keeps its faults through a status change)."""
    try:
        return certificate_of(record)
    except ChangeInvalid:
        return certificate_of(record, validate=False)


async def _set_status(
    ctx: NodeContext, tx: Transaction, record: Record, transition: Transition, reason: str
) -> Outcome:
    now = ctx.clock.stamp()
    old = _status_of(record)
    new = STATUS_TRANSITIONS[transition][1]
    cert = _keeping_faults(
        {
            **record,
            "CertificateStatus": new.value,
            "CertificateStatusChangeReason": reason,
            "CertificateStatusChangeTime": now,
        }
    )
    operation = operation_for(cert, new=False)
    entry = HistoryEntry(
        cert.CertificateID,
        transition.value,
        old.value,
        new.value,
        reason,
        now,
        cd_operation=operation.value,
    )
    await write_changes(ctx, tx, [(cert, operation)], [entry])
    return Outcome(await _stored(ctx, cert.CertificateID))


async def _new_version(
    ctx: NodeContext,
    tx: Transaction,
    record: Record,
    transition: Transition,
    *,
    reason: str,
    fields: Record,
) -> Outcome:
    _check_fields(record, transition, fields)
    old_id = str(record["CertificateID"])
    new_id = _next_version(old_id)
    if await ctx.store.certificates.exists(new_id):
        raise TransitionNotAllowed(f"the next version {new_id} exists already")
    now = ctx.clock.stamp()
    new = certificate_of(
        {
            **record,
            **fields,
            "CertificateID": new_id,
            "CertificateStatus": Status.NORMAL.value,
            "CertificateStatusChangeReason": reason,
            "CertificateStatusChangeTime": now,
        }
    )
    old = _keeping_faults(
        {
            **record,
            "CertificateStatus": Status.CANCELLED.value,
            "CertificateStatusChangeReason": f"{reason}（已变更为新版本 {new_id}）",
            "CertificateStatusChangeTime": now,
        }
    )
    written: Written = [
        (new, operation_for(new, new=True)),
        (old, operation_for(old, new=False)),
    ]
    history = [
        HistoryEntry(new_id, transition.value, "", "01", reason, now, old_id, "I"),
        HistoryEntry(
            old_id, transition.value, _status_of(record).value, "02", reason, now, new_id, "D"
        ),
    ]
    await require_seal(ctx, new)
    await write_changes(ctx, tx, written, history)
    return Outcome(await _stored(ctx, new_id), await _stored(ctx, old_id))


def _check_fields(record: Record, transition: Transition, fields: Record) -> None:
    if not fields:
        raise ChangeInvalid(f"{transition} needs the fields to change")
    touched = sorted(UNCHANGEABLE & set(fields))
    if touched:
        raise ChangeInvalid(
            f"a change cannot set {', '.join(touched)}: the CertificateID follows from type,"
            " issuer and 流水号, the status from the lifecycle operations"
        )
    if transition is Transition.EXTEND:
        _check_extension(record, fields)


def _check_extension(record: Record, fields: Record) -> None:
    if set(fields) != {"CertificateExpiringDate"}:
        raise ChangeInvalid("extend changes CertificateExpiringDate alone")
    try:
        new = normalise_optional_date(str(fields["CertificateExpiringDate"]))
        old = normalise_optional_date(str(record.get("CertificateExpiringDate") or ""))
    except ValueError as exc:
        raise ChangeInvalid(f"CertificateExpiringDate: {exc}") from None
    if not new:
        raise ChangeInvalid("extend needs a CertificateExpiringDate (for 长期, use change)")
    if old and new <= old:
        raise ChangeInvalid(f"extend needs a date after the current expiry {old}, not {new}")
    fields["CertificateExpiringDate"] = new


def _next_version(certificate_id: str) -> str:
    try:
        parts = parse_certificate_id(certificate_id)
    except ValueError as exc:
        raise ChangeInvalid(f"{certificate_id} is no CertificateID to version: {exc}") from None
    version = int(parts.version) + 1
    if version > MAX_VERSION:
        raise TransitionNotAllowed(f"{certificate_id} is at the last version ({MAX_VERSION})")
    return make_certificate_id(parts.type_code, parts.issuer_code, parts.serial, version)


async def _correct(
    ctx: NodeContext, tx: Transaction, record: Record, fields: Record, *, validate: bool
) -> Outcome:
    """§7.6 e: a record the parent's catalog refused, corrected in place (same CertificateID)."""
    certificate_id = str(record["CertificateID"])
    if fields.get("CertificateID", certificate_id) != certificate_id:
        raise ChangeInvalid("CertificateID cannot be corrected; change it for a new version")
    cert = certificate_of({**record, **fields}, validate=validate)
    if not await ctx.store.anomalies.find(state="open", certificate_id=certificate_id, limit=1):
        raise TransitionNotAllowed(
            f"{certificate_id} has no open catalog anomaly: a correction in place is only for"
            " a record the parent refused; change it for a new version"
        )
    operation = operation_for(cert, new=False)
    now = ctx.clock.stamp()
    status = cert.CertificateStatus.value
    entry = HistoryEntry(
        certificate_id,
        Transition.CORRECT.value,
        _status_of(record).value,
        status,
        f"corrected: {', '.join(sorted(fields))}",
        now,
        cd_operation=operation.value,
    )
    await write_changes(ctx, tx, [(cert, operation)], [entry])
    return Outcome(await _stored(ctx, cert.CertificateID))
