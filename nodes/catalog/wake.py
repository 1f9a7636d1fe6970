"""Reach the running aggregation of a node: push now, or announce a type approval.

``aggregation(ctx)`` registers itself here while it runs; ``wake_push(ctx)`` is what issuing and
the admin API call after committing new outbox rows. Without a running aggregation (a node with
neither parent nor children, or a test without one) it does nothing: the rows stay in the outbox
and the next push takes them.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Running(Protocol):
    wake: asyncio.Event

    async def announce_approval(self, type_code: str) -> None: ...


# id(NodeContext) → its running aggregation. NodeContext is an unhashable dataclass, and several
# contexts may live in one process (service tests), so the key is the object's identity.
_running: dict[int, Running] = {}


def register(ctx: object, running: Running) -> None:
    _running[id(ctx)] = running


def unregister(ctx: object, running: Running) -> None:
    if _running.get(id(ctx)) is running:
        del _running[id(ctx)]


def running_of(ctx: object) -> Running | None:
    return _running.get(id(ctx))


def wake_push(ctx: object) -> None:
    """Push this node's outbox now (no-op without a running aggregation for ``ctx``)."""
    running = _running.get(id(ctx))
    if running is not None:
        running.wake.set()
