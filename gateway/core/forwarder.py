"""Forwarding a call to a neighbour node (SPEC §4, §5): one pooled session per node process.

A node is an application of each of its neighbours: it calls them with its own AccountId
``peer-<own-id>`` and a day token from the neighbour's Token method, connecting from its own
host so that the neighbour's IP binding holds. Tokens are cached per neighbour and fetched again
once when the neighbour answers 11. Every forward runs under the caller's remaining deadline;
only connection errors (refused, reset, a keep-alive connection closed under us) are retried,
jittered, inside that deadline.

The node's outbound fault rules (``gateway.core.faults``) are honoured here, inside the deadline:
a cut link fails at once as a refused connection does, latency waits first, a dropped call waits
out the deadline. Every forward is a ``request.forwarded`` event (``gateway.core.events``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import aiohttp
import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from gateway.core.client import SessionOwner, client_session
from gateway.core.errors import ForwardError, NeighbourRejected, NeighbourUnreachable
from gateway.core.events import EventSink, NullEvents
from gateway.core.faults import FaultTable, Injected, caller_address
from gateway.core.links import HEADER_LINK_SIGNATURE, LinkKeys, sign
from gateway.core.protocol import (
    HEADER_CALLER,
    HEADER_DEADLINE_MS,
    HEADER_EXPLAIN,
    HEADER_HOPS,
    HEADER_REQUEST_ID,
    HEADER_ROUTE,
    HEADER_TIMING,
    ReturnCode,
    dumps,
    loads,
)
from gateway.core.topology import NodeSpec, Topology
from gateway.core.trace import Timing, decode_route, decode_timing, encode_route

log = structlog.get_logger()

# Errors that can succeed on a second try: the connection was refused, reset, or a pooled
# keep-alive connection was closed by the neighbour (a restart). Timeouts are not retried.
RETRYABLE: tuple[type[BaseException], ...] = (
    aiohttp.ClientOSError,
    aiohttp.ServerDisconnectedError,
)
RETRY_ATTEMPTS = 4
_JSON: Mapping[str, str] = MappingProxyType({"Content-Type": "application/json"})
_CREDENTIALS = frozenset({"AccountId", "AccessToken"})  # replaced by this node's own


def peer_account(node_id: str) -> str:
    """The AccountId a node holds at each of its neighbours."""
    return f"peer-{node_id}"


@dataclass(frozen=True, slots=True)
class Reply:
    """A neighbour's answer: its envelope (parsed, and the bytes it came as) and its trace headers.

    ``route`` and ``timings`` parse the headers on demand: a single-hop pass-through extends the
    header text instead (``gateway.core.trace.extend_route``/``extend_timing``).
    """

    node_id: str
    envelope: dict[str, Any]
    raw: bytes = b""
    route_header: str = ""
    timing_header: str = ""

    @property
    def route(self) -> list[str]:
        return decode_route(self.route_header)

    @property
    def timings(self) -> list[Timing]:
        return decode_timing(self.timing_header)

    @property
    def status(self) -> int:
        return int(self.envelope["head"]["status"])

    @property
    def message(self) -> str:
        return str(self.envelope["head"].get("message", ""))

    @property
    def data(self) -> Any:
        return self.envelope.get("data")


@dataclass(frozen=True, slots=True)
class FetchedFile:
    """A file a neighbour handed out, as relayed back along the route."""

    status: int
    body: bytes
    content_type: str
    disposition: str | None = None


class Forwarder(SessionOwner):
    """``async with Forwarder(topology, node_id) as forwarder:`` for the node's whole lifetime."""

    def __init__(
        self,
        topology: Topology,
        node_id: str,
        *,
        limit: int = 256,
        link_keys: LinkKeys | None = None,
        faults: FaultTable | None = None,
        events: EventSink | None = None,
    ):
        self.topology = topology
        self.link_keys = link_keys or {}  # neighbour id → key: calls to it are signed
        self.node = topology.node(node_id)
        self.account_id = peer_account(node_id)
        self._limit = limit
        self._tokens: dict[str, str] = {}
        self._pending: dict[str, asyncio.Future[str]] = {}
        self._neighbours = {node.id: node for node in topology.neighbours(node_id)}
        self.faults = faults or FaultTable()
        self.events = events or NullEvents()

    def _open_session(self) -> aiohttp.ClientSession:
        return client_session(local_host=self.node.host, limit=self._limit)

    def _not_open(self) -> Exception:
        return ForwardError("the forwarder is not open", node_id=self.node.id)

    def _neighbour(self, neighbour_id: str) -> NodeSpec:
        try:
            return self._neighbours[neighbour_id]
        except KeyError:
            raise ForwardError(f"not a neighbour of {self.node.id}", node_id=neighbour_id) from None

    # -- forwarding ------------------------------------------------------------------------------
    async def forward(
        self,
        neighbour_id: str,
        method: str,
        params: dict[str, str],
        *,
        request_id: str,
        route: list[str],
        hops: int,
        deadline_ms: float,
        caller: str,
        explain: bool = False,
    ) -> Reply:
        """Call ``method`` at a neighbour; ``hops`` and ``deadline_ms`` are what it receives.

        NeighbourUnreachable: no answer within ``deadline_ms``; NeighbourRejected: our credentials
        refused even with a fresh token; ForwardError: a malformed answer.
        """
        neighbour = self._neighbour(neighbour_id)
        headers = _trace_headers(request_id, route, hops, deadline_ms, caller, explain=explain)
        injected = None if self.faults.empty else self._outbound_faults(neighbour_id, caller)
        started, clock = time.time(), time.perf_counter()
        outcome, status = "cancelled", None
        try:
            reply = await self._forward(
                neighbour, method, params, headers, deadline_ms, injected=injected
            )
            outcome, status = "answered", reply.status
            return reply
        except ForwardError as exc:
            outcome = _outcome_of(exc)
            raise
        finally:
            self.events.emit(
                "request.forwarded",
                at=started,
                request_id=request_id,
                method=method,
                neighbour=neighbour_id,
                outcome=outcome,
                status=status,
                ms=(time.perf_counter() - clock) * 1000,
                fault=injected.fault if injected is not None else None,
            )

    def _outbound_faults(self, neighbour_id: str, caller: str) -> Injected | None:
        original = caller_address(caller)  # the application's address, for rules kept to it
        return self.faults.outbound(neighbour_id, addresses=(original,) if original else ())

    async def _forward(
        self,
        neighbour: NodeSpec,
        method: str,
        params: dict[str, str],
        headers: dict[str, str],
        deadline_ms: float,
        *,
        injected: Injected | None,
    ) -> Reply:
        try:
            async with asyncio.timeout(max(deadline_ms, 0) / 1000):
                if injected is not None:
                    await _suffer(injected, neighbour.id)
                return await self._call_with_token(neighbour, method, params, headers)
        except TimeoutError:
            raise NeighbourUnreachable(
                f"no answer within {int(deadline_ms)} ms", node_id=neighbour.id
            ) from None
        except RETRYABLE as exc:
            raise NeighbourUnreachable(f"cannot connect: {exc}", node_id=neighbour.id) from exc
        except aiohttp.ClientError as exc:
            raise NeighbourUnreachable(f"transport failed: {exc}", node_id=neighbour.id) from exc

    async def _call_with_token(
        self, neighbour: NodeSpec, method: str, params: dict[str, str], headers: dict[str, str]
    ) -> Reply:
        token = await self._token(neighbour)
        reply = await self._post_signed(neighbour, method, params, token, headers)
        if reply.status == ReturnCode.AUTH_FAILED:
            self._forget(neighbour.id, token)
            token = await self._token(neighbour)
            reply = await self._post_signed(neighbour, method, params, token, headers)
        if reply.status in (ReturnCode.AUTH_FAILED, ReturnCode.IP_MISMATCH):
            raise NeighbourRejected(
                f"refused our credentials: {reply.message}",
                node_id=neighbour.id,
                status=str(reply.status),
            )
        return reply

    async def _post_signed(
        self,
        neighbour: NodeSpec,
        method: str,
        params: dict[str, str],
        token: str,
        headers: dict[str, str],
    ) -> Reply:
        """POST a call with our credentials and, on a keyed link, its link signature."""
        body = self._body(params, token)
        key = self.link_keys.get(neighbour.id)
        if key is not None:
            headers = {**headers, HEADER_LINK_SIGNATURE: sign(key, method, headers, body)}
        url = f"{neighbour.url}{self.topology.path}/{method}"
        return await self._post(neighbour, url, body, headers)

    def _body(self, params: dict[str, str], token: str) -> bytes:
        body = {key: value for key, value in params.items() if key not in _CREDENTIALS}
        body["AccountId"] = self.account_id
        body["AccessToken"] = token
        return dumps(body)

    async def _post(
        self, neighbour: NodeSpec, url: str, body: bytes, headers: Mapping[str, str]
    ) -> Reply:
        try:
            return await self._post_once(neighbour, url, body, headers)
        except RETRYABLE:
            log.info("forward.retried", neighbour=neighbour.id, url=url)
        async for attempt in _retrying(RETRY_ATTEMPTS - 1):
            with attempt:
                return await self._post_once(neighbour, url, body, headers)
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    async def _post_once(
        self, neighbour: NodeSpec, url: str, body: bytes, headers: Mapping[str, str]
    ) -> Reply:
        async with self.session.post(url, data=body, headers=headers) as response:
            raw = await response.read()
            route = response.headers.get(HEADER_ROUTE, "")
            timing = response.headers.get(HEADER_TIMING, "")
        return Reply(neighbour.id, _envelope_of(raw, neighbour.id), raw, route, timing)

    # -- tokens ----------------------------------------------------------------------------------
    async def _token(self, neighbour: NodeSpec) -> str:
        """The cached day token at a neighbour; concurrent callers share one Token request."""
        token = self._tokens.get(neighbour.id)
        if token is not None:
            return token
        pending = self._pending.get(neighbour.id)
        if pending is None:
            pending = asyncio.create_task(
                self._request_token(neighbour),
                name=f"forwarder[{self.node.id}].token[{neighbour.id}]",
            )
            self._pending[neighbour.id] = pending
            pending.add_done_callback(lambda done: self._token_settled(neighbour.id, done))
        return await asyncio.shield(pending)

    def _token_settled(self, neighbour_id: str, done: asyncio.Future[str]) -> None:
        self._pending.pop(neighbour_id, None)
        if not done.cancelled():
            done.exception()  # retrieved here too: every waiter may have given up already

    async def _request_token(self, neighbour: NodeSpec) -> str:
        url = f"{neighbour.url}{self.topology.path}/token"
        reply = await self._post(neighbour, url, dumps({"AccountId": self.account_id}), _JSON)
        token = reply.data.get("dataList") if isinstance(reply.data, dict) else None
        if reply.status != ReturnCode.SUCCESS or not isinstance(token, str) or not token:
            raise NeighbourRejected(
                f"no token: {reply.message}", node_id=neighbour.id, status=str(reply.status)
            )
        self._tokens[neighbour.id] = token
        log.info("token.obtained", neighbour=neighbour.id)
        return token

    def _forget(self, neighbour_id: str, token: str) -> None:
        if self._tokens.get(neighbour_id) == token:
            del self._tokens[neighbour_id]

    # -- files -----------------------------------------------------------------------------------
    async def fetch_file(self, url: str, *, node_id: str, deadline_ms: float) -> FetchedFile:
        """GET a fileUrl a neighbour handed out (no credentials: the URL is the capability)."""
        injected = (
            self.faults.outbound(node_id, addresses=()) if node_id in self._neighbours else None
        )
        try:
            async with asyncio.timeout(max(deadline_ms, 0) / 1000):
                if injected is not None:
                    await _suffer(injected, node_id)
                return await self._get_file(url)
        except TimeoutError:
            raise NeighbourUnreachable(
                f"no file within {int(deadline_ms)} ms", node_id=node_id
            ) from None
        except aiohttp.ClientError as exc:
            raise NeighbourUnreachable(f"file transfer failed: {exc}", node_id=node_id) from exc

    async def _get_file(self, url: str) -> FetchedFile:
        async for attempt in _retrying(RETRY_ATTEMPTS):
            with attempt:
                async with self.session.get(url) as response:
                    body = await response.read()
                    return FetchedFile(
                        status=response.status,
                        body=body,
                        content_type=response.content_type,
                        disposition=response.headers.get("Content-Disposition"),
                    )
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises


def _outcome_of(exc: ForwardError) -> str:
    if isinstance(exc, NeighbourUnreachable):
        return "unreachable"
    return "rejected" if isinstance(exc, NeighbourRejected) else "failed"


async def _suffer(injected: Injected, neighbour_id: str) -> None:
    """What outbound faults do to a call before it is made (under the call's deadline)."""
    if injected.cut:
        raise NeighbourUnreachable(
            f"cannot connect: the link is cut (fault {injected.fault})", node_id=neighbour_id
        )
    if injected.delay_s:
        await asyncio.sleep(injected.delay_s)
    if injected.drop:  # never answered: the deadline ends the wait
        await asyncio.Event().wait()


def _trace_headers(
    request_id: str, route: list[str], hops: int, deadline_ms: float, caller: str, *, explain: bool
) -> dict[str, str]:
    headers = {
        **_JSON,
        HEADER_REQUEST_ID: request_id,
        HEADER_ROUTE: encode_route(route),
        HEADER_HOPS: str(hops),
        HEADER_DEADLINE_MS: str(max(int(deadline_ms), 0)),
        HEADER_CALLER: caller,
    }
    if explain:
        headers[HEADER_EXPLAIN] = "1"
    return headers


def _retrying(attempts: int) -> AsyncRetrying:
    """Jittered exponential waits (20 ms scale, at most 250 ms); the deadline bounds the rest."""
    return AsyncRetrying(
        retry=retry_if_exception_type(RETRYABLE),
        wait=wait_random_exponential(multiplier=0.02, max=0.25),
        stop=stop_after_attempt(attempts),
        reraise=True,
    )


def _envelope_of(raw: bytes, node_id: str) -> dict[str, Any]:
    try:
        body = loads(raw)
        int(body["head"]["status"])
    except (ValueError, TypeError, KeyError) as exc:
        raise ForwardError(f"not an envelope: {raw[:80]!r}", node_id=node_id) from exc
    if not isinstance(body, dict):
        raise ForwardError("not an envelope", node_id=node_id)
    return body
