"""Store answers remembered until their table changes: reads without a SQLite hop per call.

A ``StoreMemo`` keeps what lookups on one table answered. Every write to that table on this
node's connection (issuing, ingest, corrections, a test's fault) bumps a counter through TEMP
triggers (``Database.watch``), which forgets everything at once; a short ``ttl`` bounds how long
a write by another process (an operator's sqlite3 shell) can go unseen. An answer whose lookup
overlapped a write is not kept. Until ``install`` succeeds every call goes to the store: no memo
is slower, never wrong.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

import structlog

from nodes.errors import StoreError
from nodes.store.db import Database

log = structlog.get_logger()

T = TypeVar("T")


class StoreMemo:
    """Answers of lookups on ``table``, remembered until the table is written."""

    def __init__(self, db: Database, table: str, *, ttl: float = 2.0, size: int = 100_000):
        self.db = db
        self.table = table
        self.ttl = ttl
        self.size = size
        self.enabled = False  # until ``install`` put the triggers in place
        self._writes = 0  # bumped by the triggers, in the store's worker thread
        self._seen = -1
        self._until = 0.0
        self._answers: dict[Hashable, object] = {}

    async def install(self) -> None:
        """Be told of every write to the table on this node's connection."""
        try:
            await self.db.watch(self.table, self._written)
        except StoreError as exc:
            log.warning("store_memo.disabled", table=self.table, error=str(exc))
            return
        self.enabled = True

    def _written(self) -> None:
        self._writes += 1

    async def get(self, key: Hashable, lookup: Callable[[], Awaitable[T]]) -> T:
        """The remembered answer for ``key``, else ``await lookup()`` (kept when no write
        overlapped it). An exception from ``lookup`` is not remembered."""
        if not self.enabled:
            return await lookup()
        self._forget_if_stale()
        if key in self._answers:
            found: T = self._answers[key]  # type: ignore[assignment]
            return found
        writes = self._writes
        answer = await lookup()
        if writes == self._writes == self._seen:
            if len(self._answers) >= self.size:
                self._answers.clear()
            self._answers[key] = answer
        return answer

    def _forget_if_stale(self) -> None:
        now = time.monotonic()
        if self._writes != self._seen or now >= self._until:
            self._answers.clear()
            self._seen = self._writes
            self._until = now + self.ttl
