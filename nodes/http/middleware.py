"""One middleware maps every error to the Appendix C envelope and a return code (SPEC §3.4).

Handlers never build error envelopes; an unexpected exception becomes 99 and a log line. Error
answers carry the same headers as answers: X-Ecert-Request-Id, X-Ecert-Route (this node) and
Server-Timing. An error may ask for another HTTP status than 200 with an ``http_status`` attribute
and add ``http_headers`` (a fileUrl that is unknown or expired is a 404 with an envelope; a method
called without POST a 405 with ``Allow: POST``; a body over the limit a 413, before it is read).
A caller that goes away before its body arrived is logged at info, not as an error.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from gateway.core.protocol import (
    HEADER_REQUEST_ID,
    HEADER_ROUTE,
    HEADER_TIMING,
    ReturnCode,
    dumps,
    envelope,
)
from nodes.errors import NodeError
from nodes.http.keys import CONTEXT

log = structlog.get_logger()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = web.RequestKey("ecert.request_id", str)
_REQUEST_ID = re.compile(r"^[0-9A-Za-z._:-]{1,64}$")


class RequestIds:
    """New request ids of one app: a random prefix and a counter, unique and cheap."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._sequence = itertools.count(1)

    def new(self) -> str:
        """32 hex characters."""
        return f"{self._prefix}{next(self._sequence):016x}"


REQUEST_IDS = web.AppKey("ecert.request_ids", RequestIds)


def json_response(
    body: object, *, headers: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    return web.Response(
        body=dumps(body), content_type="application/json", headers=headers, status=status
    )


def error_response(
    request: web.Request,
    code: ReturnCode,
    message: str,
    started: float,
    *,
    data: object = None,
    status: int = 200,
    extra: tuple[tuple[str, str], ...] = (),
    close: bool = False,
) -> web.Response:
    node_id = request.app[CONTEXT].node_id if CONTEXT in request.app else ""
    elapsed = (time.perf_counter() - started) * 1000
    headers = {
        HEADER_REQUEST_ID: request[REQUEST_ID],
        HEADER_ROUTE: node_id,
        HEADER_TIMING: f"{node_id};dur={elapsed:.2f}",
        **dict(extra),
    }
    response = json_response(envelope(code, data, message), headers=headers, status=status)
    if close:  # the body may be unread, or not to be trusted: no keep-alive
        response.force_close()
    return response


def request_id_of(request: web.Request) -> str:
    """The caller's X-Ecert-Request-Id when it is a sane token, else a new 32-hex id."""
    given = request.headers.get(HEADER_REQUEST_ID, "")
    return given if _REQUEST_ID.match(given) else request.app[REQUEST_IDS].new()


def _under_sharing_path(request: web.Request) -> bool:
    if CONTEXT not in request.app:
        return False
    return request.path.startswith(request.app[CONTEXT].topology.path + "/")


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind the request id (and method) to the logs; answer errors with an envelope."""
    started = time.perf_counter()
    request_id = request[REQUEST_ID] = request_id_of(request)
    method = request.match_info.get("method")
    bound = (
        structlog.contextvars.bind_contextvars(request_id=request_id)
        if method is None
        else structlog.contextvars.bind_contextvars(request_id=request_id, method=method[:64])
    )
    try:
        return await _enveloped(request, handler, started)
    finally:
        structlog.contextvars.reset_contextvars(**bound)


async def _enveloped(request: web.Request, handler: Handler, started: float) -> web.StreamResponse:
    try:
        return await handler(request)
    except NodeError as exc:
        message = exc.message
        if exc.code is ReturnCode.OTHER:  # the detail goes to the log, not to the caller
            log.error("request.failed", path=request.path, error=exc.message)
            message = exc.code.message
        status = getattr(exc, "http_status", 200)
        extra = getattr(exc, "http_headers", ())
        close = getattr(exc, "close_connection", False)
        return error_response(
            request,
            exc.code,
            message,
            started,
            data=exc.data,
            status=status,
            extra=extra,
            close=close,
        )
    except web.HTTPRequestEntityTooLarge:
        return error_response(
            request,
            ReturnCode.INVALID_PARAMETER,
            f"{ReturnCode.INVALID_PARAMETER.message}: request body over 1 MiB",
            started,
            status=413,
            close=True,
        )
    except web.HTTPMethodNotAllowed as exc:
        return error_response(
            request,
            ReturnCode.UNKNOWN_METHOD,
            f"{ReturnCode.UNKNOWN_METHOD.message}: use POST, not {exc.method}",
            started,
            status=405,
            extra=(("Allow", "POST"),),
            close=True,
        )
    except web.HTTPNotFound:
        if not _under_sharing_path(request):
            raise
        return error_response(
            request,
            ReturnCode.UNKNOWN_METHOD,
            f"{ReturnCode.UNKNOWN_METHOD.message}: no method at {request.path[:80]}",
            started,
        )
    except web.HTTPException:
        raise
    except Exception:
        log.exception("request.failed", path=request.path)
        return error_response(request, ReturnCode.OTHER, ReturnCode.OTHER.message, started)
