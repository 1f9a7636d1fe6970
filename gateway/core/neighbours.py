"""What a node needs of its neighbours (SPEC §5, §3.3): forward a call, fetch a file one of them
handed out. ``gateway.core.forwarder.Forwarder`` is the real one; a test of the cascade stands in
a fake that answers from memory, with no sockets (as httpcore tests HTTP/1.1 against a mock
stream).
"""

from __future__ import annotations

from typing import Protocol

from gateway.core.forwarder import FetchedFile, Reply


class Neighbours(Protocol):
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
        """The neighbour's answer; ``gateway.core.errors.ForwardError`` when there is none."""
        ...

    async def fetch_file(self, url: str, *, node_id: str, deadline_ms: float) -> FetchedFile:
        """GET a fileUrl the neighbour ``node_id`` handed out; ForwardError when it cannot."""
        ...
