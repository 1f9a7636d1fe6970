"""Front-end table E.1 (前置库): increments waiting for the parent's acknowledgement.

A row is unbatched (``cd_batch = ''``) until the push loop puts it into a batch; it leaves the
table only when the parent acknowledges that batch (SPEC §6.3). ``sent_at`` is the wall-clock
time the batch was last published, NULL when it has not been published since it was formed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from nodes.model.catalog import CatalogRow
from nodes.store.db import Database, Transaction
from nodes.store.schema import E1_COLUMNS

_INSERT = (
    f"INSERT INTO outbox ({', '.join(E1_COLUMNS)}) VALUES ({', '.join('?' for _ in E1_COLUMNS)})"
)
_E1_VALUES = itemgetter(*E1_COLUMNS)
_CD_BATCH_AT = E1_COLUMNS.index("cd_batch")


@dataclass(frozen=True, slots=True)
class PendingBatch:
    cd_batch: str
    sent_at: float | None  # None: formed but not published yet
    rows: int


class OutboxRepo:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    async def append(tx: Transaction, row: CatalogRow) -> None:
        values = row.model_dump()
        await tx.execute(_INSERT, [values[column] for column in E1_COLUMNS])

    @staticmethod
    async def append_values(tx: Transaction, values: Sequence[Sequence[str]]) -> None:
        """Queue rows given as E.1 values in column order, unbatched (cd_batch, and anything
        after it such as a catalog row's via_node, is left out)."""
        await tx.executemany(_INSERT, [(*row[:_CD_BATCH_AT], "") for row in values])

    @staticmethod
    async def append_rows(tx: Transaction, rows: Sequence[dict[str, str]]) -> None:
        """Queue E.1 dicts unbatched."""
        await OutboxRepo.append_values(tx, [_E1_VALUES(row) for row in rows])

    async def pending(self) -> int:
        return int(await self.db.scalar("SELECT count(*) FROM outbox"))

    # -- batches -------------------------------------------------------------------------------
    @staticmethod
    async def form_batch(tx: Transaction, cd_batch: str, *, limit: int) -> int:
        """Put up to ``limit`` unbatched rows, oldest first, into ``cd_batch``; return how many."""
        return await tx.execute(
            "UPDATE outbox SET cd_batch = ?, sent_at = NULL WHERE seq IN"
            " (SELECT seq FROM outbox WHERE cd_batch = '' ORDER BY seq LIMIT ?)",
            (cd_batch, limit),
        )

    async def has_unbatched(self) -> bool:
        return await self.db.scalar("SELECT 1 FROM outbox WHERE cd_batch = '' LIMIT 1") is not None

    async def batches(self) -> list[PendingBatch]:
        """Batches waiting for an acknowledgement, oldest first."""
        rows = await self.db.fetchall(
            "SELECT cd_batch, max(sent_at IS NULL) AS unsent, min(sent_at) AS sent_at,"
            " count(*) AS rows, min(seq) AS first FROM outbox WHERE cd_batch != ''"
            " GROUP BY cd_batch ORDER BY first"
        )
        return [
            PendingBatch(
                cd_batch=row["cd_batch"],
                sent_at=None if row["unsent"] else float(row["sent_at"]),
                rows=int(row["rows"]),
            )
            for row in rows
        ]

    async def batch_rows(self, cd_batch: str) -> list[dict[str, str]]:
        rows = await self.db.fetchall(
            f"SELECT {', '.join(E1_COLUMNS)} FROM outbox WHERE cd_batch = ? ORDER BY seq",
            (cd_batch,),
        )
        return [dict(zip(E1_COLUMNS, row, strict=True)) for row in rows]

    async def mark_sent(self, cd_batch: str, *, at: float) -> None:
        await self.db.execute("UPDATE outbox SET sent_at = ? WHERE cd_batch = ?", (at, cd_batch))

    @staticmethod
    async def delete_batch(tx: Transaction, cd_batch: str) -> int:
        return await tx.execute("DELETE FROM outbox WHERE cd_batch = ?", (cd_batch,))
