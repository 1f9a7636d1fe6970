"""A method call as it travels, and the answer that comes back (SPEC §3, §5).

Both sides of the node use these: the HTTP layer builds a ``MethodCall`` and writes the answer,
a ``Resolver`` (the cascade, or the local answers alone) answers it. They import nothing of the
node, so neither side reaches into the other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gateway.core.protocol import DEFAULT_DEADLINE_MS, DEFAULT_HOP_BUDGET, ReturnCode
from gateway.core.trace import decode_timing, extend_route, extend_timing


@dataclass(frozen=True, slots=True)
class MethodCall:
    """One authenticated call of a §7.3 method at this node."""

    method: str
    params: dict[str, str]  # the request parameters, standard names, as strings
    account_id: str
    peer_ip: str
    request_id: str
    caller: str = ""  # the original business application, asserted by a peer node
    came_from: str | None = None  # the neighbour node id this call arrived from, if any
    route_in: tuple[str, ...] = ()  # nodes that handled the call before this one
    hops: int = DEFAULT_HOP_BUDGET  # remaining hop budget
    deadline_ms: int = DEFAULT_DEADLINE_MS  # remaining time budget when the call arrived
    explain: bool = False  # a dry run: plan the route, fetch nothing


@dataclass(frozen=True, slots=True)
class Answer:
    """What a node answers: code, ``data`` and the route it took below (and including) this node."""

    code: ReturnCode
    data: Any = None
    message: str | None = None
    route: list[str] = field(default_factory=list)  # node ids in the order first reached
    timings: list[tuple[str, float]] = field(default_factory=list)  # (node id, ms) per hop


@dataclass(frozen=True, slots=True)
class Relayed:
    """A single neighbour's answer passed back as it came: its envelope's bytes (``body``) and
    the text of its ``X-Ecert-Route`` and ``Server-Timing``, which each node on the way extends
    with its own entry (``through``). The HTTP layer writes it as it is; a node that must change
    the answer parses it (``parsed``), which gives what passing the bytes on would have said.
    """

    code: ReturnCode
    data: Any
    message: str
    body: bytes
    route_header: str
    timing_header: str

    @property
    def route(self) -> list[str]:
        return self.route_header.split(",")

    def through(self, node_id: str, ms: float) -> Relayed | None:
        """The answer as ``node_id`` passes it on, having taken ``ms`` in all; None when a
        header is not exactly as a node writes it (the caller parses the answer instead)."""
        route = extend_route(node_id, self.route_header)
        timing = extend_timing(node_id, ms, self.timing_header)
        if route is None or timing is None:
            return None
        return replace(self, route_header=route, timing_header=timing)

    def parsed(self) -> Answer:
        """The same answer as a plain Answer, for a node that changes it."""
        timings = decode_timing(self.timing_header)
        return Answer(self.code, self.data, self.message, route=self.route, timings=timings)


# Answers an authenticated call: the cascade (local or along the tree), or local answers alone.
Resolver = Callable[[MethodCall], Awaitable[Answer | Relayed]]
