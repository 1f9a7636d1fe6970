"""Admin API of catalog aggregation (SPEC §6.2 e, §7 目录维护): anomalies, fault injection, the
type catalogue and a debug view of the catalog. Plain JSON, errors ``{"error": ...}`` with 4xx;
the guard is ``admin.check_admin`` (loopback peer and the node's admin key).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from nodes.catalog import types
from nodes.catalog.validate import clean_row
from nodes.http.admin import admin_error, check_admin, json_body
from nodes.http.middleware import json_response
from nodes.model.types import CertificateType
from nodes.store.schema import E1_COLUMNS

MAX_LIMIT = 1_000_000
ANOMALY_STATES = ("open", "resolved", "all")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/anomalies", list_anomalies)
    app.router.add_post("/admin/faults/catalog-row", inject_catalog_row)
    app.router.add_get("/admin/types", list_types)
    app.router.add_post("/admin/types", define_type)
    app.router.add_post("/admin/types/{type_code}/approve", approve_type)
    app.router.add_get("/admin/catalog", show_catalog)


def _limit(request: web.Request, default: int) -> int:
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise admin_error(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


async def list_anomalies(request: web.Request) -> web.Response:
    """E.2 rows the parent sent back: ``?state=open|resolved|all&certificate_id=&limit=``."""
    ctx = check_admin(request)
    state = request.query.get("state", "all")
    if state not in ANOMALY_STATES:
        raise admin_error(400, f"state must be one of {', '.join(ANOMALY_STATES)}")
    repo = ctx.store.anomalies
    rows = await repo.find(
        state=state,
        certificate_id=request.query.get("certificate_id") or None,
        limit=_limit(request, 1000),
    )
    return json_response({"open": await repo.open_count(), "anomalies": rows})


async def inject_catalog_row(request: web.Request) -> web.Response:
    """Queue raw E.1 rows in the outbox as they are (fault injection): one row object, or
    ``{"rows": [...]}``. Missing columns are empty; unknown ones are refused."""
    ctx = check_admin(request)
    if ctx.topology.parent(ctx.node_id) is None:
        raise admin_error(409, f"{ctx.node_id} has no parent to send catalog rows to")
    body = await json_body(request)
    raw_rows = body["rows"] if isinstance(body.get("rows"), list) else [body]
    rows = [_raw_row(raw) for raw in raw_rows]
    async with ctx.store.transaction() as tx:
        await ctx.store.outbox.append_rows(tx, rows)
    ctx.wakeups.push_now()
    pending = await ctx.store.outbox.pending()
    return json_response({"queued": len(rows), "outbox_pending": pending})


def _raw_row(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise admin_error(400, "each row must be a JSON object of E.1 columns")
    unknown = sorted(set(raw) - set(E1_COLUMNS))
    if unknown:
        raise admin_error(400, f"not E.1 columns: {', '.join(unknown)}")
    return clean_row(raw, "")


async def list_types(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    return json_response([types.type_view(stored) for stored in await ctx.store.types.all()])


async def define_type(request: web.Request) -> web.Response:
    """目录维护: define a certificate type here; it waits for its province's approval."""
    ctx = check_admin(request)
    try:
        ctype = CertificateType.model_validate(await json_body(request))
    except ValidationError as exc:
        raise admin_error(400, _first_error(exc)) from None
    try:
        stored = await types.define(ctx, ctype)
    except types.TypeRefused as exc:
        raise admin_error(exc.status, str(exc)) from None
    ctx.wakeups.push_now()
    response = json_response(types.type_view(stored))
    response.set_status(201)
    return response


async def approve_type(request: web.Request) -> web.Response:
    """The province (national outside provinces) approves a type defined in its subtree."""
    ctx = check_admin(request)
    type_code = request.match_info["type_code"]
    try:
        stored = await types.approve(ctx, type_code)
    except types.TypeRefused as exc:
        raise admin_error(exc.status, str(exc)) from None
    ctx.wakeups.announce_approval(type_code)
    return json_response(types.type_view(stored))


async def show_catalog(request: web.Request) -> web.Response:
    """Debug view of the catalog index: ``?holder=&id=&via=&limit=`` → total and rows."""
    ctx = check_admin(request)
    repo = ctx.store.catalog
    filters = {
        "holder_code": request.query.get("holder") or None,
        "certificate_id": request.query.get("id") or None,
        "via_node": request.query.get("via") or None,
    }
    rows = await repo.find(**filters, limit=_limit(request, 1000))
    return json_response({"total": await repo.count_where(**filters), "rows": rows})


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"
