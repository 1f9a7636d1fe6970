"""The node's admin API under ``/admin`` (management functions, SPEC §7): status, accounts,
certificates. Plain JSON, errors as ``{"error": "..."}`` with a 4xx status.

Only loopback peers that send the node's admin key (``X-Ecert-Admin-Key``, the file
``<state>/<node>/admin.key`` written at first start) get in. ``check_admin(request)`` is the guard
other admin modules call as well.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from nodes.context import NodeContext
from nodes.http.keys import CONTEXT
from nodes.http.middleware import json_response
from nodes.http.sharing import ACCESS
from nodes.issuing import issue, maintain
from nodes.model.certificate import Certificate, DetailGroup, SurfaceItem
from nodes.model.codes import CertificateStatus
from nodes.model.identifiers import make_certificate_id
from nodes.store.batches import LAST_EXCHANGE_AT

ADMIN_KEY_HEADER = "X-Ecert-Admin-Key"
_KEY_CACHE = web.AppKey("ecert.admin_key", dict[str, str])


def add_routes(app: web.Application) -> None:
    app[_KEY_CACHE] = {}
    app.router.add_get("/admin/status", status)
    app.router.add_post("/admin/accounts", create_account)
    app.router.add_get("/admin/accounts", list_accounts)
    app.router.add_post("/admin/accounts/{account_id}/disable", disable_account)
    app.router.add_get("/admin/certificates", list_certificates)
    app.router.add_post("/admin/certificates", issue_certificate)
    app.router.add_get("/admin/certificates/{certificate_id}", get_certificate)
    app.router.add_patch("/admin/certificates/{certificate_id}", correct_certificate)
    app.router.add_post("/admin/certificates/{certificate_id}/status", change_status)


def admin_error(status: int, message: str) -> web.HTTPException:
    """An HTTP error with the admin API's ``{"error": ...}`` body, to raise."""
    body = orjson.dumps({"error": message}).decode()
    error = web.HTTPException(text=body, content_type="application/json")
    error.set_status(status)
    return error


def check_admin(request: web.Request) -> NodeContext:
    """Refuse non-loopback peers (403) and a missing or wrong admin key (401)."""
    try:
        loopback = ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise admin_error(403, "the admin API answers loopback callers only")
    ctx = request.app[CONTEXT]
    given = request.headers.get(ADMIN_KEY_HEADER, "")
    if not given or not hmac.compare_digest(given.encode(), _admin_key(request).encode()):
        raise admin_error(401, f"missing or wrong {ADMIN_KEY_HEADER}")
    return ctx


def _admin_key(request: web.Request) -> str:
    cache = request.app[_KEY_CACHE]
    if "key" not in cache:
        path = request.app[CONTEXT].settings.admin_key_path
        try:
            cache["key"] = path.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise admin_error(503, f"the node has no admin key yet ({exc.strerror})") from None
    return cache["key"]


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise admin_error(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise admin_error(400, "the body must be a JSON object")
    return body


async def status(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    store = ctx.store
    return json_response(
        {
            "node": ctx.node_id,
            "tier": ctx.node.tier.value,
            "url": ctx.node.url,
            "pid": os.getpid(),
            "certificates": await store.certificates.count(),
            "catalog_rows": await store.catalog.count(),
            "outbox_pending": await store.outbox.pending(),
            "open_anomalies": await store.anomalies.open_count(),
            "anomaly_relays_pending": await store.anomalies.relays_pending(),
            "last_exchange_at": await store.state.get(LAST_EXCHANGE_AT),
            "types": await store.types.count(approved_only=True),
        }
    )


async def create_account(request: web.Request) -> web.Response:
    check_admin(request)
    body = await json_body(request)
    ip, name = body.get("ip"), body.get("name") or ""
    rate_limit = body.get("rate_limit", 50)
    if not isinstance(ip, str):
        raise admin_error(400, "ip is required")
    try:
        ip = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        raise admin_error(400, f"{ip!r} is not an IP address") from None
    if not isinstance(name, str) or len(name) > 200:
        raise admin_error(400, "name must be a string of at most 200 characters")
    if not isinstance(rate_limit, int | float) or isinstance(rate_limit, bool) or rate_limit <= 0:
        raise admin_error(400, "rate_limit must be a positive number (requests per second)")
    account = await request.app[ACCESS].create_account(ip=ip, name=name, rate_limit=rate_limit)
    return json_response(account.public())


async def list_accounts(request: web.Request) -> web.Response:
    check_admin(request)
    accounts = await request.app[ACCESS].accounts.list()
    return json_response([account.public() for account in accounts])


async def disable_account(request: web.Request) -> web.Response:
    check_admin(request)
    account = await request.app[ACCESS].disable(request.match_info["account_id"])
    if account is None:
        raise admin_error(404, "no such account")
    return json_response(account.public())


# -- certificates (制证签发, 证照维护) -------------------------------------------------------
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


async def _stored_record(ctx: NodeContext, certificate_id: str) -> dict[str, Any]:
    stored = await ctx.store.certificates.record(certificate_id)
    if stored is None:
        raise admin_error(404, f"no certificate {certificate_id} at {ctx.node_id}")
    record: dict[str, Any] = orjson.loads(stored)
    return record


def _validating(request: web.Request) -> bool:
    return request.query.get("validate", "true").lower() not in ("false", "0", "no")


def build_certificate(record: dict[str, Any], *, validate: bool) -> Certificate:
    """The Certificate model; with ``validate=False`` the values are kept as given (fault
    injection: a record the parent's catalog validation must reject), types still checked."""
    unknown = set(record) - set(Certificate.model_fields)
    if unknown:
        raise admin_error(400, f"unknown fields: {', '.join(sorted(unknown))}")
    try:
        if validate:
            return Certificate.model_validate(record)
        return _construct(record)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'certificate'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise admin_error(400, f"invalid certificate: {detail}") from None
    except ValueError as exc:
        raise admin_error(400, f"invalid certificate: {exc}") from None


def _construct(record: dict[str, Any]) -> Certificate:
    values: dict[str, Any] = {}
    for name, info in Certificate.model_fields.items():
        value = record.get(name, info.default if not info.is_required() else "")
        if name in ("surface", "detail"):
            model = SurfaceItem if name == "surface" else DetailGroup
            if not isinstance(value or [], list):
                raise ValueError(f"{name} must be a list")
            value = [model.model_validate(item) for item in value or []]
        elif name == "CertificateStatus":
            value = CertificateStatus(value)
        elif not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
        values[name] = value
    return Certificate.model_construct(**values)


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
    return json_response(await _stored_record(ctx, request.match_info["certificate_id"]))


async def issue_certificate(request: web.Request) -> web.Response:
    """制证签发: a new certificate (or a whole new record for an existing id). Without a
    CertificateID the node assigns one: a new serial (流水号) under the record's type and issuer."""
    ctx = check_admin(request)
    record = await json_body(request)
    if not record.get("CertificateID"):
        record["CertificateID"] = _new_certificate_id(record)
    cert = build_certificate(record, validate=_validating(request))
    await issue(ctx, cert)
    return json_response(cert.to_record())


async def correct_certificate(request: web.Request) -> web.Response:
    """证照维护: correct some fields of a stored certificate; a U row goes upward."""
    ctx = check_admin(request)
    certificate_id = request.match_info["certificate_id"]
    changes = await json_body(request)
    if changes.get("CertificateID", certificate_id) != certificate_id:
        raise admin_error(400, "CertificateID cannot be corrected; issue a new version instead")
    record = {**await _stored_record(ctx, certificate_id), **changes}
    cert = build_certificate(record, validate=_validating(request))
    await maintain(ctx, cert)
    return json_response(cert.to_record())


async def change_status(request: web.Request) -> web.Response:
    """注销/吊销 (02/03: a D row upward), 挂失/暂扣/正常 (U)."""
    ctx = check_admin(request)
    certificate_id = request.match_info["certificate_id"]
    body = await json_body(request)
    try:
        new_status = CertificateStatus(str(body.get("status")))
    except ValueError:
        raise admin_error(400, "status must be one of 01, 02, 03, 04, 05") from None
    reason = body.get("reason") or ""
    if not isinstance(reason, str):
        raise admin_error(400, "reason must be a string")
    record = await _stored_record(ctx, certificate_id)
    record.update(
        CertificateStatus=new_status.value,
        CertificateStatusChangeReason=reason,
        CertificateStatusChangeTime=ctx.clock.stamp(),
    )
    try:
        cert = build_certificate(record, validate=True)
    except web.HTTPException:  # a record stored without validation keeps its faults
        cert = build_certificate(record, validate=False)
    await maintain(ctx, cert)
    return json_response(cert.to_record())
