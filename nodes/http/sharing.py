"""``POST <path>/<Method>``: the ten §7.3 methods over HTTP (SPEC §3.1, §4, §5).

Thin on purpose: read the body, authenticate, validate the parameters, build the MethodCall, ask
the resolver (local or along the cascade), serialise the envelope. Every call, rejected or not,
leaves one audit row; errors become envelopes in the middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import structlog
from aiohttp import web

from gateway.core.links import verify
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
from gateway.core.trace import decode_timing
from nodes.access.guard import Access
from nodes.call import MethodCall, Relayed
from nodes.context import NodeContext
from nodes.errors import (
    AuthenticationFailed,
    FaultInjected,
    MethodNotAllowed,
    NodeError,
    ParameterInvalid,
    UnknownMethod,
)
from nodes.housekeeping import housekeeping_loop
from nodes.http.body import read_body
from nodes.http.events import request_handled
from nodes.http.faults import honour_inbound
from nodes.http.keys import CONTEXT, METRICS, RESOLVER
from nodes.http.middleware import REQUEST_ID
from nodes.sharing.params import MAX_USE_FOR, parse_params, peer_params
from nodes.store.accounts import Account
from nodes.store.audit import AuditLog, AuditRecord

ACCESS = web.AppKey("ecert.access", Access)
AUDIT = web.AppKey("ecert.audit", AuditLog)

log = structlog.get_logger()

MAX_ACCOUNT_ID = 80  # ours are 32 hex characters; a peer's ``peer-<node id>`` at most 68
_METHODS = frozenset(METHODS)
_TRUE = frozenset({"1", "true", "yes", "on"})
MAX_DEADLINE_MS = 60_000
MAX_HOPS = 64


def setup(app: web.Application, ctx: NodeContext) -> None:
    """Give the app its access checks and audit log (flushed by a task the app owns)."""
    app[ACCESS] = Access(ctx.store.accounts, ctx.store.tokens, ctx.clock)
    app[AUDIT] = ctx.store.audit_log
    app.cleanup_ctx.append(_audit_lifetime)


async def _audit_lifetime(app: web.Application) -> AsyncIterator[None]:
    """The audit log's flush loop and the store's housekeeping, for the app's lifetime."""
    audit, ctx = app[AUDIT], app[CONTEXT]
    flush = asyncio.create_task(audit.flush_loop(), name=f"node[{ctx.node_id}].audit_flush_loop")
    sweep = asyncio.create_task(
        housekeeping_loop(ctx.store, ctx.clock, ctx.settings),
        name=f"node[{ctx.node_id}].housekeeping_loop",
    )
    yield
    sweep.cancel()
    audit.close()  # the loop writes what is queued, then ends
    await flush
    with contextlib.suppress(asyncio.CancelledError):
        await sweep


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
    route: str = ""  # X-Ecert-Route as answered
    body_read: bool = False
    explain: bool = False  # X-Ecert-Explain: the plan only, nothing fetched
    timings: list[tuple[str, float]] = field(default_factory=list)  # Server-Timing as answered
    timing_header: str = ""  # or as passed on, unparsed
    detail: str = ""  # why a VerifyCertificate answered false (its verifyMessage)


async def call_method(request: web.Request) -> web.StreamResponse:
    started = time.perf_counter()
    ctx = request.app[CONTEXT]
    arrived = time.time()
    trail = _Trail(
        method=request.match_info["method"][:64],
        peer_ip=caller_ip(request, trusted_proxies=ctx.settings.trusted_proxies),
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
    except asyncio.CancelledError:  # aiohttp cancels the handler when the caller goes away
        if not trail.body_read:  # the call never arrived whole
            trail.status = ReturnCode.INVALID_PARAMETER
        log.info("request.client_gone", body_read=trail.body_read)
        raise
    finally:
        _meter(request, trail, time.perf_counter() - started)
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
                route=trail.route or ctx.node_id,
                detail=trail.detail,
            )
        )
        request_handled(ctx, trail, arrived, injected)


def _meter(request: web.Request, trail: _Trail, seconds: float) -> None:
    timings = trail.timings or decode_timing(trail.timing_header)
    request.app[METRICS].requested(trail.method, int(trail.status), seconds, timings)


async def _handle(request: web.Request, ctx: NodeContext, trail: _Trail) -> web.Response:
    started = time.perf_counter()
    trail.method = method = method_of(request)
    body = await read_body(request, within=ctx.settings.body_within)
    raw = body.params
    trail.body_read = True
    trail.account_id = _text(raw, "AccountId")[:MAX_ACCOUNT_ID]
    if len(_text(raw, "AccountId")) > MAX_ACCOUNT_ID:  # nothing unbounded reaches the audit log
        raise ParameterInvalid("AccountId", f"longer than {MAX_ACCOUNT_ID} characters")
    use_for = raw.get("UseFor")
    trail.use_for = use_for[:MAX_USE_FOR] if isinstance(use_for, str) else ""
    access = request.app[ACCESS]
    if method == "Token":
        token = await access.issue_token(trail.account_id, trail.peer_ip)
        trail.status = ReturnCode.SUCCESS
        return _response(token_body(token), trail.request_id, [ctx.node_id], [], started)
    account = await access.authenticate(trail.account_id, _text(raw, "AccessToken"), trail.peer_ip)
    if account.is_peer:
        check_link(ctx, account, method, request, body.raw)
    # a peer node forwards what its entry node validated: a light check, else the full one
    params = peer_params(method, raw) if account.is_peer else None
    if params is None:
        params = parse_params(method, raw)
    call = method_call(request, method, params, account, trail)
    trail.caller, trail.explain = call.caller, call.explain
    answer = await request.app[RESOLVER](call)
    trail.detail = _verify_message(answer.data)
    if isinstance(answer, Relayed):  # a single neighbour's answer, passed back as it came
        trail.status, trail.route = answer.code, answer.route_header
        trail.timing_header = answer.timing_header
        return _relayed_response(answer, trail.request_id)
    trail.status, trail.route = answer.code, ",".join(answer.route)
    trail.timings = answer.timings
    answered = envelope(answer.code, answer.data, answer.message)
    route = answer.route or [ctx.node_id]
    return _response(answered, trail.request_id, route, answer.timings, started)


def _verify_message(data: Any) -> str:
    """A VerifyCertificate answer's reason for "false", for the audit log ("" otherwise)."""
    if isinstance(data, dict) and isinstance(data.get("verifyMessage"), str):
        return str(data["verifyMessage"])[:1000]
    return ""


def check_link(
    ctx: NodeContext, account: Account, method: str, request: web.Request, body: bytes
) -> None:
    """A peer account's call must carry the link's signature when the node holds a key for the
    link (the launcher hands every node its keys): the address alone proves nothing."""
    key = ctx.settings.link_keys.get(account.neighbour_id or "")
    if key is not None and not verify(key, method, request.headers, body):
        raise AuthenticationFailed(f"{ReturnCode.AUTH_FAILED.message}: no valid link signature")


def method_of(request: web.Request) -> str:
    """The §7.3 method named by the path: case-sensitive, but ``token`` is the Token path (C.1)."""
    name = request.match_info["method"]
    name = "Token" if name == "token" else name
    if name not in _METHODS:
        raise UnknownMethod(f"{ReturnCode.UNKNOWN_METHOD.message}: no method {name[:64]!r}")
    if request.method != "POST":
        raise MethodNotAllowed(name, request.method, "POST")
    return name


def caller_ip(request: web.Request, *, trusted_proxies: frozenset[str]) -> str:
    """The TCP peer, unless it is one of the node's proxies: then the right-most X-Forwarded-For
    address that is not a proxy itself (what the first trusted proxy saw). Entries to the left of
    it are the client's own words and never count."""
    peer = request.remote or ""
    if peer not in trusted_proxies:
        return peer
    hops = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    for address in reversed(hops):
        if address and address not in trusted_proxies:
            return address
    return peer


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
        HEADER_ROUTE: answer.route_header,
        HEADER_TIMING: answer.timing_header,
    }
    return web.Response(body=answer.body, content_type="application/json", headers=headers)
