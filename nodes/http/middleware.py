"""One middleware maps every error to the Appendix C envelope and a return code (SPEC §3.4).

Handlers never build error envelopes; an unexpected exception becomes 99 and a log line.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from gateway.protocol import HEADER_REQUEST_ID, ReturnCode, dumps, envelope
from nodes.errors import NodeError

log = structlog.get_logger()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = "ecert.request_id"


def json_response(body: object, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=dumps(body), content_type="application/json", headers=headers)


def error_response(code: ReturnCode, message: str, request_id: str) -> web.Response:
    return json_response(envelope(code, message=message), headers={HEADER_REQUEST_ID: request_id})


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind the request id to the logs; turn NodeError and anything unexpected into an envelope."""
    request_id = request.headers.get(HEADER_REQUEST_ID) or uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            return await handler(request)
        except NodeError as exc:
            return error_response(exc.code, exc.message, request_id)
        except web.HTTPRequestEntityTooLarge:
            return error_response(
                ReturnCode.INVALID_PARAMETER,
                "参数值不符合规范: request body over 1 MiB",
                request_id,
            )
        except web.HTTPMethodNotAllowed as exc:
            return error_response(
                ReturnCode.UNKNOWN_METHOD,
                f"证照源未提供此服务接口: use POST, not {exc.method}",
                request_id,
            )
        except web.HTTPException:
            raise
        except Exception:
            log.exception("request.failed", path=request.path)
            return error_response(ReturnCode.OTHER, ReturnCode.OTHER.message, request_id)
