"""``POST <path>/<Method>``: the ten §7.3 methods over HTTP (SPEC §3.1, §4, §5).

Thin on purpose: read the body, authenticate, validate the parameters, build the MethodCall, ask
the resolver (local or along the cascade), serialise the envelope. Every call, rejected or not,
leaves one audit row; errors become envelopes in the middleware.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote_plus, unquote_to_bytes

import orjson
from aiohttp import web

from gateway.core.protocol import (
    DEFAULT_DEADLINE_MS,
    DEFAULT_HOP_BUDGET,
    HEADER_CALLER,
    HEADER_DEADLINE_MS,
    HEADER_EXPLAIN,
    HEADER_HOPS,
    HEADER_REQUEST_ID,
    HEADER_ROUTE,
    HEADER_TIMING,
    METHODS,
    ReturnCode,
    envelope,
)
from nodes.access.guard import Access
from nodes.context import NodeContext
from nodes.errors import FaultInjected, NodeError, ParameterInvalid, UnknownMethod
from nodes.http.events import request_handled
from nodes.http.faults import honour_inbound
from nodes.http.keys import CONTEXT, RESOLVER
from nodes.http.middleware import REQUEST_ID
from nodes.sharing.call import MethodCall, Relayed
from nodes.sharing.params import MAX_USE_FOR, parse_params, peer_params
from nodes.store.accounts import Account
from nodes.store.audit import AuditLog, AuditRecord

ACCESS = web.AppKey("ecert.access", Access)
AUDIT = web.AppKey("ecert.audit", AuditLog)

_METHODS = frozenset(METHODS)
_TRUE = frozenset({"1", "true", "yes", "on"})
MAX_DEADLINE_MS = 60_000
MAX_HOPS = 64
MAX_FIELDS = 64


def setup(app: web.Application, ctx: NodeContext) -> None:
    """Give the app its access checks and audit log (flushed by a task the app owns)."""
    app[ACCESS] = Access(ctx.db, ctx.clock)
    app[AUDIT] = AuditLog(ctx.db)
    app.cleanup_ctx.append(_audit_lifetime)


async def _audit_lifetime(app: web.Application) -> AsyncIterator[None]:
    audit = app[AUDIT]
    name = f"node[{app[CONTEXT].node_id}].audit_flush_loop"
    task = asyncio.create_task(audit.flush_loop(), name=name)
    yield
    audit.close()  # the loop writes what is queued, then ends
    await task


@dataclass(slots=True)
class _Trail:
    """What the audit row of this call will say."""

    method: str
    peer_ip: str
    request_id: str
    account_id: str = ""
    use_for: str = ""
    status: ReturnCode = ReturnCode.OTHER
    caller: str = ""
    route: list[str] = field(default_factory=list)
    timings: list[tuple[str, float]] | str = field(default_factory=list)  # or Server-Timing text


async def call_method(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    arrived = time.time()
    trail = _Trail(
        method=request.match_info["method"][:64],
        peer_ip=caller_ip(request, trust_forwarded_for=ctx.settings.trust_forwarded_for),
        request_id=request[REQUEST_ID],
    )
    injected = None  # an injected fault may wait, hang up, or answer 99 below
    if not ctx.faults.table.empty:
        injected = await honour_inbound(request, ctx, trail.peer_ip)
    try:  # request_id and method are bound to the logs by the middleware
        if injected is not None and injected.error:
            raise FaultInjected(injected.fault)
        return await _handle(request, ctx, trail)
    except NodeError as exc:
        trail.status = exc.code
        raise
    except web.HTTPRequestEntityTooLarge:
        trail.status = ReturnCode.INVALID_PARAMETER
        raise
    finally:
        request.app[AUDIT].record(
            AuditRecord(
                time=ctx.clock.stamp(),
                request_id=trail.request_id,
                account_id=trail.account_id,
                peer_ip=trail.peer_ip,
                method=trail.method,
                use_for=trail.use_for,
                status=str(int(trail.status)),
                caller=trail.caller,
                route=",".join(trail.route or [ctx.node_id]),
            )
        )
        request_handled(ctx, trail, arrived, injected)


async def _handle(request: web.Request, ctx: NodeContext, trail: _Trail) -> web.Response:
    started = time.perf_counter()
    trail.method = method = method_of(request)
    raw = await read_body(request)
    trail.account_id = _text(raw, "AccountId")
    use_for = raw.get("UseFor")
    trail.use_for = use_for[:MAX_USE_FOR] if isinstance(use_for, str) else ""
    access = request.app[ACCESS]
    if method == "Token":
        token = await access.issue_token(trail.account_id, trail.peer_ip)
        trail.status = ReturnCode.SUCCESS
        return _response(token_body(token), trail.request_id, [ctx.node_id], [], started)
    account = await access.authenticate(trail.account_id, _text(raw, "AccessToken"), trail.peer_ip)
    # a peer node forwards what its entry node validated: a light check, else the full one
    params = peer_params(method, raw) if account.is_peer else None
    if params is None:
        params = parse_params(method, raw)
    call = method_call(request, method, params, account, trail)
    trail.caller = call.caller
    answer = await request.app[RESOLVER](ctx, call)
    trail.status, trail.route = answer.code, answer.route
    trail.timings = answer.timing_header if isinstance(answer, Relayed) else answer.timings
    if isinstance(answer, Relayed):  # a single neighbour's answer, passed back as it came
        return _relayed_response(answer, trail.request_id)
    body = envelope(answer.code, answer.data, answer.message)
    return _response(body, trail.request_id, answer.route or [ctx.node_id], answer.timings, started)


def method_of(request: web.Request) -> str:
    """The §7.3 method named by the path: case-sensitive, but ``token`` is the Token path (C.1)."""
    name = request.match_info["method"]
    name = "Token" if name == "token" else name
    if name not in _METHODS:
        raise UnknownMethod(f"{ReturnCode.UNKNOWN_METHOD.message}: no method {name[:64]!r}")
    if request.method != "POST":
        raise UnknownMethod(
            f"{ReturnCode.UNKNOWN_METHOD.message}: {name} must be called with POST,"
            f" not {request.method}"
        )
    return name


def caller_ip(request: web.Request, *, trust_forwarded_for: bool) -> str:
    """The TCP peer; the first X-Forwarded-For address only when the node sits behind a proxy."""
    if trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first
    return request.remote or ""


async def read_body(request: web.Request) -> dict[str, Any]:
    """A form body (UTF-8) or a JSON object; anything else is 15. Over 1 MiB raises 413 → 15."""
    body = await request.read()
    content_type = request.content_type
    if "multipart" in content_type:
        raise ParameterInvalid("body", "use application/x-www-form-urlencoded or JSON")
    if content_type.endswith("json") or body.lstrip()[:1] == b"{":
        return _json_body(body)
    return _form_body(body, request.charset or "utf-8")


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ParameterInvalid("body", f"not valid UTF-8 JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ParameterInvalid("body", "a JSON body must be an object")
    return value


def _form_body(body: bytes, charset: str) -> dict[str, Any]:
    """``application/x-www-form-urlencoded`` as ``parse_qsl`` reads it, strict about encoding."""
    try:
        fields = body.decode(charset).split("&") if body else []
        if len(fields) > MAX_FIELDS:
            raise ParameterInvalid("body", f"more than {MAX_FIELDS} form fields")
        values: dict[str, Any] = {}
        for field in fields:
            if field:
                name, _, value = field.partition("=")
                name = _unquote(name, charset)
                if name in values:
                    raise ParameterInvalid(name[:64], "given more than once")
                values[name] = _unquote(value, charset)
    except (UnicodeDecodeError, LookupError):
        raise ParameterInvalid("body", f"the form body is not valid {charset}") from None
    return values


def _unquote(text: str, charset: str) -> str:
    """``unquote_plus(text, encoding=charset, errors="strict")``; an ASCII field (what a form
    encoder sends) is unescaped in one step, which is what ``unquote`` does for it too."""
    if "%" in text or "+" in text:
        if text.isascii():
            return unquote_to_bytes(text.replace("+", " ")).decode(charset)
        return unquote_plus(text, encoding=charset, errors="strict")
    return text


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParameterInvalid(name, "must be a string")
    return value.strip()


def _int_header(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    value = request.headers.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ParameterInvalid(name, "must be an integer") from None
    return max(low, min(high, number))


def method_call(
    request: web.Request, method: str, params: dict[str, str], account: Account, trail: _Trail
) -> MethodCall:
    """The call to resolve; only a peer node may assert caller, route and hop budget."""
    headers = request.headers
    explain = headers.get(HEADER_EXPLAIN, "").strip().lower() in _TRUE
    deadline = _int_header(request, HEADER_DEADLINE_MS, DEFAULT_DEADLINE_MS, 1, MAX_DEADLINE_MS)
    call = MethodCall(
        method=method,
        params=params,
        account_id=account.account_id,
        peer_ip=trail.peer_ip,
        request_id=trail.request_id,
        caller=account.account_id,
        deadline_ms=deadline,
        explain=explain,
    )
    if not account.is_peer:
        return call
    route_in = tuple(
        part.strip() for part in headers.get(HEADER_ROUTE, "").split(",") if part.strip()
    )
    return replace(
        call,
        caller=headers.get(HEADER_CALLER, "")[:256],
        came_from=account.neighbour_id,
        route_in=route_in,
        hops=_int_header(request, HEADER_HOPS, DEFAULT_HOP_BUDGET, 0, MAX_HOPS),
    )


def token_body(token: str) -> dict[str, Any]:
    """Appendix C.1 exactly, key order included: the token is ``data.dataList``."""
    return {
        "head": {"message": ReturnCode.SUCCESS.message, "status": "0"},
        "data": {"total": "", "dataList": token},
    }


def _response(
    body: dict[str, Any],
    request_id: str,
    route: list[str],
    timings: list[tuple[str, float]],
    started: float,
) -> web.Response:
    if not timings:
        timings = [(route[0], (time.perf_counter() - started) * 1000)]
    headers = {
        HEADER_REQUEST_ID: request_id,
        HEADER_ROUTE: ",".join(route),
        HEADER_TIMING: ", ".join(f"{node};dur={ms:.2f}" for node, ms in timings),
    }
    return web.Response(body=orjson.dumps(body), content_type="application/json", headers=headers)


def _relayed_response(answer: Relayed, request_id: str) -> web.Response:
    headers = {
        HEADER_REQUEST_ID: request_id,
        HEADER_ROUTE: ",".join(answer.route),
        HEADER_TIMING: answer.timing_header,
    }
    return web.Response(body=answer.body, content_type="application/json", headers=headers)
