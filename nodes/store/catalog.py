"""The catalog index (目录库) of this node's subtree: E.1 rows plus the node each leads through."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson

from nodes.model.catalog import CatalogRow
from nodes.store.db import Database, Row, Transaction, where_equal
from nodes.store.schema import E1_COLUMNS

_COLUMNS = (*E1_COLUMNS, "via_node")
_UPSERT = (
    f"INSERT INTO catalog ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
    " ON CONFLICT (certificate_source_id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _COLUMNS[1:])
)

# Applied in batches from a child: a row older than the stored one changes nothing (SPEC §6.3).
_UPSERT_NEWER = _UPSERT + " WHERE excluded.cd_time > catalog.cd_time"
# ... nor does one for an entry another child leads to, unless that entry was cancelled.
_UPSERT_NEWER_OWNED = (
    _UPSERT_NEWER + " AND (catalog.via_node = excluded.via_node OR catalog.cd_operation = 'D')"
)


# What ingest needs to know of a stored entry: who leads to it, how new, cancelled or not.
# A plain tuple (via_node, cd_time, cd_operation): ingest makes one per row it applies.
EntryState = tuple[str, str, str]

# A catalog row as ingest handles it: the E.1 values in E1_COLUMNS order, then via_node.
# Sequences (tuples, or lists from JSON), not dicts: they go to executemany as they are.
CatalogValues = Sequence[str]
CD_TIME_AT = E1_COLUMNS.index("cd_time")
CD_OPERATION_AT = E1_COLUMNS.index("cd_operation")


def e1_row(values: CatalogValues) -> dict[str, str]:
    """The E.1 dict of catalog values (without via_node)."""
    return dict(zip(E1_COLUMNS, values[: len(E1_COLUMNS)], strict=True))


def row_of(row: Row) -> CatalogRow:
    return CatalogRow.model_validate({column: row[column] for column in E1_COLUMNS})


class CatalogRepo:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    async def upsert(tx: Transaction, row: CatalogRow, *, via_node: str) -> None:
        values = row.model_dump()
        await tx.execute(_UPSERT, [values[column] for column in E1_COLUMNS] + [via_node])

    @staticmethod
    async def upsert_all_owned(
        tx: Transaction, values: Iterable[CatalogValues], count: int
    ) -> bool:
        """Apply all ``count`` rows when every one is newer than the stored one and for an entry
        no other node leads to (the usual batch), else change nothing: False.

        One statement checks the rules itself; a savepoint undoes it when it held a row back.
        ``values`` is read in the SQLite thread, as the statement runs."""
        await tx.execute("SAVEPOINT apply_all")
        if await tx.executemany(_UPSERT_NEWER_OWNED, values) == count:
            await tx.execute("RELEASE apply_all")
            return True
        await tx.execute("ROLLBACK TO apply_all")
        await tx.execute("RELEASE apply_all")
        return False

    @staticmethod
    async def upsert_values(
        tx: Transaction, values: Iterable[CatalogValues], *, owned_here: bool = False
    ) -> int:
        """Apply catalog rows except any not newer than the stored one (and, ``owned_here``,
        any for an entry another node leads to that is not cancelled). The number applied.

        ``values`` is read in the SQLite thread, as the statement runs."""
        return await tx.executemany(_UPSERT_NEWER_OWNED if owned_here else _UPSERT_NEWER, values)

    @staticmethod
    async def states(
        tx: Transaction | Database, certificate_ids: Sequence[str]
    ) -> dict[str, EntryState]:
        """The stored entry of each of these ids that has one (read inside ``tx`` when given)."""
        if not certificate_ids:
            return {}
        rows = await tx.fetchall(
            "SELECT certificate_source_id, via_node, cd_time, cd_operation FROM catalog"
            " WHERE certificate_source_id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(certificate_ids)).decode(),),
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    async def find(
        self,
        *,
        holder_code: str | None = None,
        certificate_id: str | None = None,
        via_node: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, str]]:
        """Catalog entries (E.1 + via_node) for the admin debug view, by id order."""
        where, params = _where(holder_code, certificate_id, via_node)
        rows = await self.db.fetchall(
            f"SELECT {', '.join(_COLUMNS)} FROM catalog{where}"
            " ORDER BY certificate_source_id LIMIT ?",
            [*params, limit],
        )
        return [dict(zip(_COLUMNS, row, strict=True)) for row in rows]

    async def count_where(
        self,
        *,
        holder_code: str | None = None,
        certificate_id: str | None = None,
        via_node: str | None = None,
    ) -> int:
        where, params = _where(holder_code, certificate_id, via_node)
        return int(await self.db.scalar(f"SELECT count(*) FROM catalog{where}", params))

    async def via_of(self, certificate_id: str) -> str | None:
        """The routing pointer of a certificate: this node's id or the child it came through.

        Cancelled (``D``) rows still route, so that the owner answers 21 rather than 10.
        """
        value = await self.db.scalar(
            "SELECT via_node FROM catalog WHERE certificate_source_id = ?",
            (certificate_id,),
        )
        return None if value is None else str(value)

    async def vias_of_holder(
        self, holder_code: str, type_code: str | None = None, number: str | None = None
    ) -> list[str]:
        """Every node (this one or a child) through which the holder's certificates are reached."""
        where, params = where_equal(
            [("certificate_holder_code", holder_code)],
            [("certificate_type_code", type_code), ("certificate_number", number)],
        )
        sql = f"SELECT DISTINCT via_node FROM catalog{where}"
        return [str(row[0]) for row in await self.db.fetchall(sql, params)]

    async def rows_of_holder(
        self,
        holder_code: str,
        *,
        type_code: str | None = None,
        number: str | None = None,
        holder_type: str | None = None,
    ) -> list[Row]:
        """The entries of a holder's certificates (those given narrow it), by id; cancelled
        (``D``) ones included."""
        where, params = where_equal(
            [("certificate_holder_code", holder_code)],
            [
                ("certificate_type_code", type_code),
                ("certificate_number", number),
                ("certificate_holder_type", holder_type),
            ],
        )
        sql = f"SELECT * FROM catalog{where} ORDER BY certificate_source_id"
        return await self.db.fetchall(sql, params)

    async def count(self) -> int:
        """Every row, cancelled (``D``) ones included: they still route to their owner (21)."""
        return int(await self.db.scalar("SELECT count(*) FROM catalog"))


def _where(
    holder_code: str | None, certificate_id: str | None, via_node: str | None
) -> tuple[str, list[object]]:
    return where_equal(
        [],
        [
            ("certificate_holder_code", holder_code),
            ("certificate_source_id", certificate_id),
            ("via_node", via_node),
        ],
    )
