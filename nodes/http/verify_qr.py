"""``POST <path>/VerifyQr``: the public on-site check of a QR verification token (§8.4.2).

No account and no token: anyone may ask, so each calling address is rate-limited
(``settings.qr_rate_limit`` checks a second; 16 beyond it). The body (form or JSON, as every
method) carries ``VerificationToken``; ``nodes.verification.check`` answers it along the cascade.
Every call leaves one audit row (method ``VerifyQr``, ``detail`` the CertificateID asked about).
"""

from __future__ import annotations

import time

import orjson
from aiohttp import web

from gateway.core.protocol import HEADER_REQUEST_ID, HEADER_ROUTE, HEADER_TIMING, ReturnCode
from gateway.core.protocol import envelope as make_envelope
from nodes.access.ratelimit import RateLimiter
from nodes.call import Answer
from nodes.errors import MethodNotAllowed, NodeError, ParameterMissing, TooFrequent
from nodes.http.body import read_body
from nodes.http.keys import CONTEXT, METRICS, RESOLVER
from nodes.http.middleware import REQUEST_ID
from nodes.http.sharing import caller_ip
from nodes.store.audit import AuditRecord
from nodes.verification.check import verify_qr

METHOD = "VerifyQr"
PARAMETER = "VerificationToken"
QR_LIMITER = web.AppKey("ecert.qr_limiter", RateLimiter)


def add_routes(app: web.Application, path: str) -> None:
    """Before the catch-all ``<path>/{method}`` route, which would answer 2 for it."""
    app[QR_LIMITER] = RateLimiter()
    app.router.add_route("*", f"{path}/{METHOD}", verify_qr_call)


async def verify_qr_call(request: web.Request) -> web.Response:
    started = time.perf_counter()
    ctx = request.app[CONTEXT]
    peer_ip = caller_ip(request, trusted_proxies=ctx.settings.trusted_proxies)
    request_id = request[REQUEST_ID]
    answer = Answer(ReturnCode.OTHER)
    certificate_id = ""
    try:
        answer = await _answer(request, peer_ip, request_id)
        certificate_id = answer.data.get("certificateID", "") if answer.data else ""
        return _response(answer, request_id, ctx.node_id, started)
    except NodeError as exc:
        answer = Answer(exc.code, None, exc.message)
        raise
    finally:
        seconds = time.perf_counter() - started
        request.app[METRICS].requested(METHOD, int(answer.code), seconds, answer.timings)
        ctx.store.audit_log.record(
            AuditRecord(
                time=ctx.clock.stamp(),
                request_id=request_id,
                account_id="",
                peer_ip=peer_ip,
                method=METHOD,
                use_for="",
                status=str(int(answer.code)),
                route=",".join(answer.route) or ctx.node_id,
                detail=certificate_id or (answer.message or "")[:200],
            )
        )


async def _answer(request: web.Request, peer_ip: str, request_id: str) -> Answer:
    if request.method != "POST":
        raise MethodNotAllowed(METHOD, request.method, "POST")
    ctx = request.app[CONTEXT]
    if not request.app[QR_LIMITER].allow(peer_ip, ctx.settings.qr_rate_limit):
        raise TooFrequent(f"{ReturnCode.TOO_FREQUENT.message}: {METHOD} from {peer_ip}")
    body = await read_body(request, within=ctx.settings.body_within)
    token = body.params.get(PARAMETER)
    if not isinstance(token, str) or not token.strip():
        raise ParameterMissing(PARAMETER)
    return await verify_qr(request.app[RESOLVER], token, request_id=request_id, peer_ip=peer_ip)


def _response(answer: Answer, request_id: str, node_id: str, started: float) -> web.Response:
    route = answer.route or [node_id]
    timings = answer.timings or [(node_id, (time.perf_counter() - started) * 1000)]
    headers = {
        HEADER_REQUEST_ID: request_id,
        HEADER_ROUTE: ",".join(route),
        HEADER_TIMING: ", ".join(f"{node};dur={ms:.2f}" for node, ms in timings),
    }
    body = make_envelope(answer.code, answer.data, answer.message)
    return web.Response(body=orjson.dumps(body), content_type="application/json", headers=headers)


def openapi_path() -> dict[str, object]:
    """The OpenAPI operation of ``<path>/VerifyQr`` (joined into ``nodes.http.openapi``)."""
    string = {"type": "string"}
    params = {
        "type": "object",
        "required": [PARAMETER],
        "properties": {
            PARAMETER: {
                "type": "string",
                "maxLength": 400,
                "description": "the token a certificate file's QR code holds: base32 (A-Z, 2-7)"
                " of format 1, SM3 digest of the Table 11 data, CertificateID and a check",
            }
        },
    }
    envelope = {"type": "object", "required": ["head", "data"]}
    answer = {
        "type": "object",
        "required": ["head", "data"],
        "properties": {
            "head": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {"status": string, "message": string},
            },
            "data": {
                "type": "object",
                "properties": {
                    "verifyResult": {"type": "string", "enum": ["true", "false"]},
                    "certificateID": string,
                    "newCertificateID": string,
                    "reason": string,
                },
            },
        },
    }
    return {
        "post": {
            "operationId": METHOD,
            "summary": "On-site check of a QR verification token (§8.4.2): no account needed;"
            " rate-limited per calling address (16). 0 with verifyResult true: genuine and"
            " current; 15 a malformed or altered token; 10 unknown or other data; 21/22/23",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {"schema": params},
                    "application/json": {"schema": params},
                },
            },
            "responses": {
                "200": {
                    "description": "the Appendix C envelope (errors too: see head.status)",
                    "content": {"application/json": {"schema": answer}},
                },
                "405": {
                    "description": "not a POST: status 2, header Allow: POST",
                    "headers": {"Allow": {"schema": {"type": "string", "const": "POST"}}},
                    "content": {"application/json": {"schema": envelope}},
                },
                "413": {
                    "description": "a body over 1 MiB, refused before it is read: status 15",
                    "content": {"application/json": {"schema": envelope}},
                },
            },
        }
    }
