"""One node's store, assembled once: its database and one repository per concept.

``async with Store.open(path) as store`` opens (and migrates) the database. The node's parts ask
``store.certificates``, ``store.catalog``, … and never build a repository of their own, so every
statement is written once, in this package, and every memory of store answers (``StoreMemo``)
belongs to one node: two stores in one process share nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from nodes.store.accounts import AccountRepo
from nodes.store.anomalies import AnomalyRepo
from nodes.store.audit import AuditLog, AuditRepo
from nodes.store.authorisations import AuthorisationRepo
from nodes.store.batches import IngestedBatchRepo, NodeState
from nodes.store.catalog import CatalogRepo
from nodes.store.catalog_cache import CatalogCache
from nodes.store.certificates import CertificateRepo
from nodes.store.db import Database, Transaction
from nodes.store.expiry import ExpiryRepo
from nodes.store.files import FileLinkRepo
from nodes.store.history import HistoryRepo
from nodes.store.outbox import OutboxRepo
from nodes.store.seals import SealRepo
from nodes.store.tokens import TokenRepo
from nodes.store.types import TypeRepo


class Store:
    """The repositories of one node's database."""

    def __init__(self, db: Database):
        self.db = db
        self.accounts = AccountRepo(db)
        self.anomalies = AnomalyRepo(db)
        self.audit = AuditRepo(db)
        self.authorisations = AuthorisationRepo(db)
        self.audit_log = AuditLog(db)  # the buffered writer; its flush loop runs with the app
        self.batches = IngestedBatchRepo(db)
        self.catalog = CatalogRepo(db)
        self.certificates = CertificateRepo(db)
        self.expiry = ExpiryRepo(db)
        self.files = FileLinkRepo(db)
        self.history = HistoryRepo(db)
        self.outbox = OutboxRepo(db)
        self.seals = SealRepo(db)
        self.state = NodeState(db)
        self.tokens = TokenRepo(db)
        self.types = TypeRepo(db)
        self.routes = CatalogCache(self.catalog)  # the catalog answers routing asks for

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | Path) -> AsyncIterator[Store]:
        async with Database(path) as db:
            yield cls(db)

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Writes of several repositories in one transaction (their static methods take it)."""
        return self.db.transaction()

    async def remember(self) -> None:
        """Remember certificate records and routing answers until their tables change (a serving
        node does; until then every lookup asks SQLite)."""
        await self.certificates.memo.install()
        await self.seals.memo.install()
        await self.routes.memo.install()
