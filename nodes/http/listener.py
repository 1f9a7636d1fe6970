"""The node's listening socket: aiohttp's request handler with the limits a public endpoint needs.

aiohttp has no hook for these, so each connection is served by ``GuardedHandler``, a subclass of
its ``RequestHandler`` built by our own ``create_server`` factory:

- **Connections per address.** At most ``connections_per_address`` open connections from one
  remote address; one more is answered at once with an envelope (code 16, HTTP 503) and closed.
- **Head deadline.** From its first byte, a request's line and headers must arrive within
  ``head_within`` seconds, or the connection is closed (a caller that trickles headers holds
  nothing for long). The body has its own deadline (``body_within``, ``nodes.http.body``).
- **Idle keep-alive** connections are closed after ``idle_within`` seconds (aiohttp's
  ``keepalive_timeout``, which also covers a connection that never sends a byte).
- **Parser rejections** (a 10 KB path, a 20 KB header, bad chunking) are answered with the
  Appendix C envelope, code 15, in place of aiohttp's plain-text 400, and logged as one line.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import BaseRequest

from gateway.core.protocol import HEADER_REQUEST_ID, HEADER_ROUTE, ReturnCode, dumps, envelope
from nodes.http.middleware import Handler, RequestIds

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    per_address: int = 512
    head_within: float = 10.0
    idle_within: float = 75.0


class AddressGate:
    """Open connections per remote address, within a cap (one gate per node)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: Counter[str] = Counter()
        self._refused: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        if self._open[address] >= self.cap:
            self._refused[address] += 1
            if self._refused[address] == 1:  # once per episode, not once per socket
                log.warning("connection.refused", address=address, open=self.cap, cause="cap")
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]
            if refused := self._refused.pop(address, 0):
                log.info("connection.cap_cleared", address=address, refused=refused)

    def open_from(self, address: str) -> int:
        return self._open[address]


def _refusal(address: str, cap: int) -> bytes:
    body = dumps(
        envelope(
            ReturnCode.TOO_FREQUENT,
            None,
            f"{ReturnCode.TOO_FREQUENT.message}: more than {cap} open connections from {address}",
        )
    )
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedHandler(web.RequestHandler):
    """One connection of a node's endpoint, within its node's ``AddressGate`` and deadlines."""

    def __init__(
        self,
        manager: web.Server,
        *,
        loop: asyncio.AbstractEventLoop,
        gate: AddressGate,
        limits: ConnectionLimits,
        node_id: str,
        request_ids: RequestIds,
    ) -> None:
        super().__init__(
            manager,
            loop=loop,
            keepalive_timeout=limits.idle_within,
            access_log=None,  # type: ignore[arg-type]  # as AppRunner(access_log=None): no access log
        )
        self._gate, self._limits = gate, limits
        self._node_id, self._request_ids = node_id, request_ids
        self._address: str | None = None  # set once admitted
        self._head_deadline: asyncio.TimerHandle | None = None
        self._in_request = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        if not self._gate.admit(address):
            assert isinstance(transport, asyncio.Transport)
            transport.write(_refusal(address, self._gate.cap))
            transport.close()
            return
        self._address = address
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._address is None:  # refused: aiohttp never saw it
            return
        self._gate.release(self._address)
        self._address = None
        self._stop_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_deadline is None and not self._in_request:
            self._head_deadline = self._loop.call_later(self._limits.head_within, self._head_late)
        super().data_received(data)

    def request_started(self) -> None:
        """The head arrived (called by the node's middleware): the head deadline is met."""
        self._in_request = True
        self._stop_head_deadline()

    def request_finished(self) -> None:
        self._in_request = False

    def _stop_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_late(self) -> None:
        self._head_deadline = None
        log.info(
            "connection.head_timed_out", address=self._address, within=self._limits.head_within
        )
        self.force_close()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """What aiohttp answers itself (its parser's rejections), as an envelope."""
        if status < 500:
            reason = exc.message if isinstance(exc, HttpProcessingError) else (message or "")
            code = ReturnCode.INVALID_PARAMETER
            text = f"{code.message}: the request cannot be read ({reason.strip()[:200]})"
            log.warning("request.rejected_by_parser", status=status, reason=reason.strip()[:200])
        else:
            code, text = ReturnCode.OTHER, ReturnCode.OTHER.message
            log.error("request.failed", status=status, error=repr(exc)[:200])
        request_id = self._request_ids.new()
        headers = {HEADER_REQUEST_ID: request_id, HEADER_ROUTE: self._node_id}
        response = web.Response(
            body=dumps(envelope(code, None, text)),
            status=status,
            content_type="application/json",
            headers=headers,
        )
        response.force_close()
        return response


async def listen(
    runner: web.AppRunner,
    host: str,
    port: int,
    *,
    node_id: str,
    limits: ConnectionLimits,
    request_ids: RequestIds,
) -> asyncio.Server:
    """Accept connections for ``runner``'s app; the caller closes the server it gets (then
    ``runner.cleanup()`` closes the connections still open)."""
    server = runner.server
    assert server is not None, "runner.setup() first"
    loop = asyncio.get_running_loop()
    gate = AddressGate(limits.per_address)

    def handler() -> GuardedHandler:
        return GuardedHandler(
            server,
            loop=loop,
            gate=gate,
            limits=limits,
            node_id=node_id,
            request_ids=request_ids,
        )

    return await loop.create_server(handler, host, port, backlog=1024)


@web.middleware
async def head_met(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tell the connection its request's head arrived (outermost middleware)."""
    protocol = request.protocol
    if not isinstance(protocol, GuardedHandler):  # a test server's plain handler
        return await handler(request)
    protocol.request_started()
    try:
        return await handler(request)
    finally:
        protocol.request_finished()
