"""The admin API of certificates (制证签发, 证照维护; SPEC §7): issue, list, read, the lifecycle
operations of ``nodes.model.lifecycle`` and each certificate's history.

- ``POST /admin/certificates``: issue (without a ``CertificateID`` the node assigns one: a new
  流水号, 版本号 001); an ID issued before is refused (409).
- ``POST /admin/certificates/{id}/{operation}`` with ``{"reason": …}`` and, for ``change``,
  ``{"fields": {…}}``, for ``extend``, ``{"CertificateExpiringDate": …}``: change, extend, cancel,
  revoke, lose, suspend, restore. Answers ``{"certificate": …, "previous": …}`` (previous for a
  change: the old version, now 02).
- ``POST /admin/certificates/{id}/status`` with ``{"status", "reason"}``: the operation that sets
  that status (01 → restore, 02 → cancel, …), so 02 → 01 is refused like restore of a cancelled
  certificate.
- ``PATCH /admin/certificates/{id}``: a correction in place (§7.6 e), only for a record the
  parent's catalog refused (an open E.2 anomaly); else 409 (change it instead).
- ``GET /admin/certificates/{id}/history``: every transition of every version, oldest first.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from aiohttp import web

from nodes.errors import LifecycleRefused
from nodes.http.admin import admin_error, check_admin, json_body
from nodes.http.middleware import json_response
from nodes.lifecycle import Outcome, apply, certificate_of, issue, transition_named
from nodes.model.codes import CertificateStatus
from nodes.model.identifiers import make_certificate_id
from nodes.model.lifecycle import FOR_STATUS, Transition

_SUMMARY = (
    "CertificateID",
    "CertificateHolderCode",
    "CertificateHolderTypeCode",
    "CertificateTypeCode",
    "CertificateNumber",
    "CertificateStatus",
    "CertificateHolderName",
    "CertificateName",
)
MAX_LISTED = 100_000  # certificates one listing returns at most


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/certificates", list_certificates)
    app.router.add_post("/admin/certificates", issue_certificate)
    app.router.add_get("/admin/certificates/{certificate_id}", get_certificate)
    app.router.add_patch("/admin/certificates/{certificate_id}", correct_certificate)
    app.router.add_get("/admin/certificates/{certificate_id}/history", history)
    app.router.add_post("/admin/certificates/{certificate_id}/{operation}", operate)


def _validating(request: web.Request) -> bool:
    return request.query.get("validate", "true").lower() not in ("false", "0", "no")


def _refused(exc: LifecycleRefused) -> web.HTTPException:
    return admin_error(exc.http_status, exc.message)


def _new_certificate_id(record: dict[str, Any]) -> str:
    type_code = record.get("CertificateTypeCode")
    issuer_code = record.get("CertificateIssuingAuthorityCode")
    if not isinstance(type_code, str) or not isinstance(issuer_code, str):
        raise admin_error(
            400,
            "a CertificateID is assigned from CertificateTypeCode and "
            "CertificateIssuingAuthorityCode: both are required",
        )
    try:
        return make_certificate_id(type_code, issuer_code, secrets.token_hex(6).upper())
    except ValueError as exc:
        raise admin_error(400, f"cannot assign a CertificateID: {exc}") from None


async def list_certificates(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    try:
        limit = int(request.query.get("limit", "10000"))
    except ValueError:
        raise admin_error(400, "limit must be an integer") from None
    if not 1 <= limit <= MAX_LISTED:
        raise admin_error(400, f"limit must be between 1 and {MAX_LISTED}")
    stored = await ctx.store.certificates.records(
        holder_code=request.query.get("holder") or None, limit=limit
    )
    records = [orjson.loads(record) for record in stored]
    return json_response([{key: record.get(key, "") for key in _SUMMARY} for record in records])


async def get_certificate(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    certificate_id = request.match_info["certificate_id"]
    stored = await ctx.store.certificates.record(certificate_id)
    if stored is None:
        raise admin_error(404, f"no certificate {certificate_id} at {ctx.node_id}")
    return json_response(orjson.loads(stored))


async def issue_certificate(request: web.Request) -> web.Response:
    """制证签发: a new certificate. Without a CertificateID the node assigns one."""
    ctx = check_admin(request)
    record = await json_body(request)
    if not record.get("CertificateID"):
        record["CertificateID"] = _new_certificate_id(record)
    try:
        validating = _validating(request)
        cert = certificate_of(record, validate=validating)
        return json_response(await issue(ctx, cert, sealed=validating))
    except LifecycleRefused as exc:
        raise _refused(exc) from None


async def correct_certificate(request: web.Request) -> web.Response:
    """§7.6 e: correct fields of a record the parent refused, in place (a U row upward)."""
    ctx = check_admin(request)
    certificate_id = request.match_info["certificate_id"]
    fields = await json_body(request)
    try:
        outcome = await apply(
            ctx,
            certificate_id,
            Transition.CORRECT,
            reason="",
            fields=fields,
            validate=_validating(request),
        )
    except LifecycleRefused as exc:
        raise _refused(exc) from None
    return json_response(outcome.certificate)


async def operate(request: web.Request) -> web.Response:
    """One lifecycle operation (``/status`` names it by the status it sets)."""
    ctx = check_admin(request)
    certificate_id = request.match_info["certificate_id"]
    body = await json_body(request)
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise admin_error(400, "reason must be a string")
    try:
        transition = _transition_of(request.match_info["operation"], body)
        outcome: Outcome = await apply(
            ctx, certificate_id, transition, reason=reason, fields=_fields_of(transition, body)
        )
    except LifecycleRefused as exc:
        raise _refused(exc) from None
    if request.match_info["operation"] == "status":  # the old route answered the record
        return json_response(outcome.certificate)
    return json_response(outcome.public())


def _transition_of(operation: str, body: dict[str, Any]) -> Transition:
    if operation != "status":
        transition = transition_named(operation)
        if transition is Transition.CORRECT:
            raise admin_error(405, "a correction is PATCH /admin/certificates/{id}")
        return transition
    try:
        return FOR_STATUS[CertificateStatus(str(body.get("status")))]
    except ValueError:
        raise admin_error(400, "status must be one of 01, 02, 03, 04, 05") from None


def _fields_of(transition: Transition, body: dict[str, Any]) -> dict[str, Any] | None:
    if transition is Transition.EXTEND:
        return {"CertificateExpiringDate": body.get("CertificateExpiringDate", "")}
    if transition is not Transition.CHANGE:
        return None
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise admin_error(400, 'change needs "fields": an object of the fields to change')
    return fields


async def history(request: web.Request) -> web.Response:
    """Every transition of every version of the certificate, oldest first."""
    ctx = check_admin(request)
    certificate_id = request.match_info["certificate_id"]
    entries = await ctx.store.history.of_lineage(certificate_id)
    if not entries and not await ctx.store.certificates.exists(certificate_id):
        raise admin_error(404, f"no certificate {certificate_id} at {ctx.node_id}")
    return json_response(
        {"CertificateID": certificate_id, "history": [entry.public() for entry in entries]}
    )
