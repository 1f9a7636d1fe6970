"""Front-end table E.1 (前置库): increments waiting for the parent's acknowledgement.

A row is unbatched (``cd_batch = ''``) until the push loop puts it into a batch; it leaves the
table only when the parent acknowledges that batch (SPEC §6.3). ``sent_at`` is the wall-clock
time the batch was last published, NULL when it has not been published since it was formed.

What a parent forwards of a child's batch is one entry, a *bundle*: ``bundle_rows`` rows kept
as the JSON a catalog message carries them in (an array of arrays of the ``MESSAGE_COLUMNS``
values), spliced into the batch message as it is. The other entries are one row each, in the
E.1 columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from nodes.model.catalog import CatalogRow
from nodes.store.db import Database, Transaction
from nodes.store.schema import E1_COLUMNS, MESSAGE_COLUMNS, message_values

_INSERT = (
    f"INSERT INTO outbox ({', '.join(E1_COLUMNS)}) VALUES ({', '.join('?' for _ in E1_COLUMNS)})"
)


@dataclass(frozen=True, slots=True)
class Bundle:
    """Rows forwarded together: a JSON array of arrays of their ``MESSAGE_COLUMNS`` values."""

    body: bytes
    rows: int


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
    async def append_rows(tx: Transaction, rows: Sequence[dict[str, str]]) -> None:
        """Queue E.1 dicts unbatched (whatever cd_batch they carry)."""
        await tx.executemany(_INSERT, [(*message_values(row), "") for row in rows])

    @staticmethod
    async def append_bundles(tx: Transaction, bundles: Sequence[Bundle]) -> None:
        """Queue bundles unbatched, each one entry."""
        await tx.executemany(
            "INSERT INTO outbox (certificate_source_id, bundle, bundle_rows) VALUES ('', ?, ?)",
            [(bundle.body, bundle.rows) for bundle in bundles],
        )

    async def pending(self) -> int:
        """Rows waiting, bundled or not."""
        return int(await self.db.scalar("SELECT coalesce(sum(bundle_rows), 0) FROM outbox"))

    # -- batches -------------------------------------------------------------------------------
    @staticmethod
    async def form_batch(tx: Transaction, cd_batch: str, *, limit: int) -> int:
        """Put the oldest unbatched entries into ``cd_batch``, up to ``limit`` rows (always the
        first entry, however big a bundle); return how many rows."""
        await tx.execute(
            "UPDATE outbox SET cd_batch = ?1, sent_at = NULL WHERE seq IN"
            " (SELECT seq FROM (SELECT seq, sum(bundle_rows) OVER (ORDER BY seq) AS upto"
            "  FROM (SELECT seq, bundle_rows FROM outbox WHERE cd_batch = '' ORDER BY seq"
            "  LIMIT ?2)) WHERE upto <= ?2 OR seq = (SELECT min(seq) FROM outbox"
            "  WHERE cd_batch = ''))",
            (cd_batch, limit),
        )
        return await _rows_of(tx, cd_batch)

    async def rows_of(self, cd_batch: str) -> int:
        """Rows in the batch ``cd_batch``, 0 when it is not in the outbox."""
        return await _rows_of(self.db, cd_batch)

    async def has_unbatched(self) -> bool:
        return await self.db.scalar("SELECT 1 FROM outbox WHERE cd_batch = '' LIMIT 1") is not None

    async def batches(self) -> list[PendingBatch]:
        """Batches waiting for an acknowledgement, oldest first."""
        rows = await self.db.fetchall(
            "SELECT cd_batch, max(sent_at IS NULL) AS unsent, min(sent_at) AS sent_at,"
            " sum(bundle_rows) AS rows, min(seq) AS first FROM outbox WHERE cd_batch != ''"
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
        """The rows of a batch as E.1 dicts, bundles opened."""
        return [
            {**dict(zip(MESSAGE_COLUMNS, values, strict=True)), "cd_batch": cd_batch}
            for part in await self.batch_parts(cd_batch)
            for values in orjson.loads(b"[%s]" % part)
        ]

    async def batch_parts(self, cd_batch: str) -> list[bytes]:
        """The rows of a batch as a catalog message carries them, in order: each entry's arrays
        of values, comma-separated (a bundle's as stored, not decoded)."""
        rows = await self.db.fetchall(
            f"SELECT bundle, {', '.join(MESSAGE_COLUMNS)} FROM outbox WHERE cd_batch = ?"
            " ORDER BY seq",
            (cd_batch,),
        )
        return [
            orjson.dumps(tuple(row)[1:]) if row[0] is None else _bundle_part(bytes(row[0]))
            for row in rows
        ]

    async def mark_sent(self, cd_batch: str, *, at: float) -> None:
        await self.db.execute("UPDATE outbox SET sent_at = ? WHERE cd_batch = ?", (at, cd_batch))

    @staticmethod
    async def delete_batch(tx: Transaction, cd_batch: str) -> int:
        return await tx.execute("DELETE FROM outbox WHERE cd_batch = ?", (cd_batch,))


async def _rows_of(reader: Transaction | Database, cd_batch: str) -> int:
    return int(
        await reader.scalar(
            "SELECT coalesce(sum(bundle_rows), 0) FROM outbox WHERE cd_batch = ?", (cd_batch,)
        )
    )


def _bundle_part(bundle: bytes) -> bytes:
    """A bundle's rows, comma-separated. Bundles queued by earlier versions hold E.1 objects
    (``"cd_batch":""`` in each): their values are taken out, in order."""
    if bundle.startswith(b"[{"):
        bundle = orjson.dumps([message_values(row) for row in orjson.loads(bundle)])
    return bundle[1:-1]
