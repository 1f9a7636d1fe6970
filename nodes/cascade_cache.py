"""The cascade's memory of catalog answers: routing without a store query per call.

Every catalog answer the resolver needs (the routing pointer of a CertificateID, the pointers of a
holder's entries) is kept until the catalog changes. This node's own writes to the catalog
(issuing, ingest, faults) bump a counter through TEMP triggers on its connection, which forgets
everything at once; a short ``ttl`` bounds how long a write by another process (an operator's
sqlite3 shell) can go unseen. An answer whose query overlapped a write is not kept.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from nodes.errors import StoreError
from nodes.store.catalog import CatalogRepo
from nodes.store.db import Database

log = structlog.get_logger()

T = TypeVar("T")


class CatalogCache:
    """``via_of`` and ``vias_of_holder`` of CatalogRepo, remembered until the catalog changes."""

    def __init__(self, db: Database, *, ttl: float = 2.0, size: int = 100_000):
        self.db = db
        self.repo = CatalogRepo(db)
        self.ttl = ttl
        self.size = size
        self.enabled = False  # until ``install`` put the triggers in place
        self._writes = 0  # bumped by the triggers, in the store's worker thread
        self._seen = -1
        self._until = 0.0
        self._answers: dict[tuple[str, ...], object] = {}

    async def install(self) -> None:
        """Be told of every write to the catalog on this node's connection."""
        try:
            await self.db.watch("catalog", self._written)
        except StoreError as exc:  # no cache is slower, never wrong
            log.warning("catalog_cache.disabled", error=str(exc))
            return
        self.enabled = True

    def _written(self) -> None:
        self._writes += 1

    async def via_of(self, certificate_id: str) -> str | None:
        return await self._remembered(("id", certificate_id), self.repo.via_of, certificate_id)

    async def vias_of_holder(
        self, holder_code: str, type_code: str | None, number: str | None
    ) -> frozenset[str]:
        key = ("holder", holder_code, type_code or "", number or "")

        async def lookup() -> frozenset[str]:
            return frozenset(await self.repo.vias_of_holder(holder_code, type_code, number))

        return await self._remembered(key, lambda _: lookup(), holder_code)

    async def _remembered(
        self, key: tuple[str, ...], lookup: Callable[[str], Awaitable[T]], argument: str
    ) -> T:
        if not self.enabled:
            return await lookup(argument)
        self._forget_if_stale()
        if key in self._answers:
            found: T = self._answers[key]  # type: ignore[assignment]
            return found
        writes = self._writes
        answer = await lookup(argument)
        if writes == self._writes == self._seen:  # no write overlapped the query
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
