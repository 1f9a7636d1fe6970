"""Audit you can read: admin actions join the audit log, and ``GET /admin/audit`` reads it.

Every admin request that changes something (any method but GET and HEAD under ``/admin/``) is
one audit row, refused ones included (no key, wrong input, a transition the lifecycle does not
allow): ``account_id`` ``admin``, ``method`` ``admin``, ``status`` the HTTP status, ``use_for``
the body's ``reason`` if it gave one, ``detail`` ``<verb> <path>`` and, when refused, the error.

``GET /admin/audit`` filters by ``request_id``, ``account``, ``method`` (a §7.3 method name,
``admin`` or ``file``) and ``since`` (ISO 8601; a time without an offset is the network's zone),
newest first, at most ``limit`` rows (default 100, at most 10,000).
"""

from __future__ import annotations

from datetime import datetime

import orjson
from aiohttp import web

from nodes.http.admin import admin_error, check_admin
from nodes.http.keys import CONTEXT
from nodes.http.middleware import REQUEST_ID, Handler, json_response
from nodes.store.audit import AuditRecord

ADMIN_ACCOUNT = "admin"
MAX_LISTED = 10_000
_UNCHANGING = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_DETAIL = 500


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/audit", read_audit)


@web.middleware
async def audit_admin_actions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record each admin action with its outcome (the request id is the envelope middleware's)."""
    if not request.path.startswith("/admin/") or request.method in _UNCHANGING:
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        await _record(request, exc.status, exc.text or "")
        raise
    await _record(request, response.status, "")
    return response


async def _record(request: web.Request, status: int, error_body: str) -> None:
    ctx = request.app[CONTEXT]
    detail = f"{request.method} {request.path}"
    error = _error_of(error_body) if status >= 400 else ""
    if error:
        detail += f": {error}"
    ctx.store.audit_log.record(
        AuditRecord(
            time=ctx.clock.stamp(),
            request_id=request[REQUEST_ID],
            account_id=ADMIN_ACCOUNT,
            peer_ip=request.remote or "",
            method="admin",
            use_for=await _reason_of(request),
            status=str(status),
            route=ctx.node_id,
            detail=detail[:_MAX_DETAIL],
        )
    )


def _error_of(body: str) -> str:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200]
    return str(value.get("error", "")) if isinstance(value, dict) else ""


async def _reason_of(request: web.Request) -> str:
    """The ``reason`` of a JSON body the handler read (never reads one it did not)."""
    if request.can_read_body:
        return ""
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return ""
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason[:200] if isinstance(reason, str) else ""


def _since(value: str | None, request: web.Request) -> str | None:
    if not value:
        return None
    zone = request.app[CONTEXT].clock.zone
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise admin_error(400, f"since must be an ISO 8601 time, not {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(zone).isoformat(timespec="microseconds")


async def read_audit(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    query = request.query
    try:
        limit = int(query.get("limit", "100"))
    except ValueError:
        raise admin_error(400, "limit must be an integer") from None
    if not 1 <= limit <= MAX_LISTED:
        raise admin_error(400, f"limit must be between 1 and {MAX_LISTED}")
    await ctx.store.audit_log.flush()  # what was just done is in the answer
    rows = await ctx.store.audit.find(
        request_id=query.get("request_id") or None,
        account_id=query.get("account") or None,
        method=query.get("method") or None,
        since=_since(query.get("since"), request),
        limit=limit,
    )
    return json_response({"node": ctx.node_id, "rows": [row.public() for row in rows]})
