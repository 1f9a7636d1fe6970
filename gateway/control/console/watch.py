"""The network as the console shows it: each node's health and counters, kept fresh.

``StatusWatch`` asks every node's ``/healthz`` and ``/admin/status`` (``Launcher.status``) every
``every`` seconds in a task the console's app owns (``console.status_loop``); the page reads the
latest ``snapshot``. A stopped network is one with no node process and no broker left.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from gateway.control.launcher import Launcher
from gateway.control.node_status import NodeStatus

log = structlog.get_logger()
REFRESH_EVERY = 2.0  # seconds between two looks at the network


@dataclass(frozen=True)
class Snapshot:
    """One look at the network."""

    taken_at: float
    running: bool  # some process of the network is alive
    nodes: list[NodeStatus] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at,
            "running": self.running,
            "nodes": [node.as_dict() for node in self.nodes],
        }


class StatusWatch:
    """``async with StatusWatch(launcher) as watch``: ``watch.snapshot`` is at most ``every``
    seconds old once the first look is done (``await watch.first()``)."""

    def __init__(self, launcher: Launcher, *, every: float = REFRESH_EVERY) -> None:
        self.launcher = launcher
        self.every = every
        self.snapshot = Snapshot(taken_at=0.0, running=bool(launcher.running()))
        self._looked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StatusWatch:
        self._task = asyncio.create_task(self.status_loop(), name="console.status_loop")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def first(self) -> Snapshot:
        await self._looked.wait()
        return self.snapshot

    async def look(self) -> Snapshot:
        """Look at the network now."""
        running = bool(self.launcher.running())
        nodes = await self.launcher.status() if running else []
        self.snapshot = Snapshot(taken_at=time.time(), running=running, nodes=nodes)
        self._looked.set()
        return self.snapshot

    async def status_loop(self) -> None:
        while True:
            try:
                await self.look()
            except Exception as exc:  # one failed look must not end the console
                log.warning("console.look_failed", error=str(exc))
            await asyncio.sleep(self.every)
