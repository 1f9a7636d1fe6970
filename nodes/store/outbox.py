"""Front-end table E.1 (前置库): increments waiting for the parent's acknowledgement."""

from __future__ import annotations

from nodes.model.catalog import CatalogRow
from nodes.store.db import Database, Transaction
from nodes.store.schema import E1_COLUMNS

_INSERT = (
    f"INSERT INTO outbox ({', '.join(E1_COLUMNS)}) VALUES ({', '.join('?' for _ in E1_COLUMNS)})"
)


class OutboxRepo:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    async def append(tx: Transaction, row: CatalogRow) -> None:
        values = row.model_dump()
        await tx.execute(_INSERT, [values[column] for column in E1_COLUMNS])

    async def pending(self) -> int:
        return int(await self.db.scalar("SELECT count(*) FROM outbox"))
