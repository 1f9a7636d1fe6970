"""The node's admin API under ``/admin`` (management functions, SPEC §7): status, accounts
(certificates: ``admin_certificates``; catalog and types: ``admin_catalog``). Plain JSON, errors
as ``{"error": "..."}`` with a 4xx status.

Only loopback peers that send the node's admin key (``X-Ecert-Admin-Key``, the file
``<state>/<node>/admin.key`` written at first start) get in. ``check_admin(request)`` is the guard
other admin modules call as well.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from typing import Any

import orjson
from aiohttp import web

from nodes.context import NodeContext
from nodes.http.keys import CONTEXT
from nodes.http.middleware import json_response
from nodes.http.sharing import ACCESS
from nodes.store.batches import LAST_EXCHANGE_AT

ADMIN_KEY_HEADER = "X-Ecert-Admin-Key"
_KEY_CACHE = web.AppKey("ecert.admin_key", dict[str, str])


def add_routes(app: web.Application) -> None:
    app[_KEY_CACHE] = {}
    app.router.add_get("/admin/status", status)
    app.router.add_post("/admin/accounts", create_account)
    app.router.add_get("/admin/accounts", list_accounts)
    app.router.add_post("/admin/accounts/{account_id}/disable", disable_account)


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
