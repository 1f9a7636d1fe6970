"""The catalog answers routing asks for, remembered: routing without a store query per call.

Every catalog answer the cascade needs (the routing pointer of a CertificateID, the pointers of a
holder's entries) is kept until the catalog changes (``nodes.store.memo``).
"""

from __future__ import annotations

from nodes.store.catalog import CatalogRepo
from nodes.store.memo import StoreMemo


class CatalogCache:
    """``via_of`` and ``vias_of_holder`` of a CatalogRepo, remembered until the catalog changes."""

    def __init__(self, catalog: CatalogRepo, *, ttl: float = 2.0, size: int = 100_000):
        self.catalog = catalog
        self.memo = StoreMemo(catalog.db, "catalog", ttl=ttl, size=size)

    async def via_of(self, certificate_id: str) -> str | None:
        return await self.memo.get(
            ("id", certificate_id), lambda: self.catalog.via_of(certificate_id)
        )

    async def vias_of_holder(
        self, holder_code: str, type_code: str | None, number: str | None
    ) -> frozenset[str]:
        key = ("holder", holder_code, type_code or "", number or "")

        async def lookup() -> frozenset[str]:
            return frozenset(await self.catalog.vias_of_holder(holder_code, type_code, number))

        return await self.memo.get(key, lookup)
