"""A method call as it travels, and the answer that comes back (SPEC §3, §5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.core.protocol import DEFAULT_DEADLINE_MS, DEFAULT_HOP_BUDGET, ReturnCode
from gateway.core.trace import decode_timing


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


@dataclass(slots=True)
class Answer:
    """What a node answers: code, ``data`` and the route it took below (and including) this node."""

    code: ReturnCode
    data: Any = None
    message: str | None = None
    route: list[str] = field(default_factory=list)  # node ids in the order first reached
    timings: list[tuple[str, float]] = field(default_factory=list)  # (node id, ms) per hop


@dataclass(slots=True)
class Relayed(Answer):
    """A single neighbour's answer passed back as it came: its envelope's bytes (``body``) and its
    ``Server-Timing`` text, which ``Cascade.resolve`` extends with this node's entry. ``route``
    is the neighbour's, as for any Answer; ``timings`` stays empty (``parsed`` fills it)."""

    body: bytes = b""
    timing_header: str = ""

    def parsed(self) -> Answer:
        """The same answer as a plain Answer, for a node that changes it."""
        timings = decode_timing(self.timing_header)
        return Answer(self.code, self.data, self.message, route=self.route, timings=timings)
