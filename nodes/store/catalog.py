"""The catalog index (目录库) of this node's subtree: E.1 rows plus the node each leads through."""

from __future__ import annotations

from nodes.model.catalog import CatalogRow
from nodes.store.db import Database, Row, Transaction
from nodes.store.schema import E1_COLUMNS

_COLUMNS = (*E1_COLUMNS, "via_node")
_UPSERT = (
    f"INSERT INTO catalog ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
    " ON CONFLICT (certificate_source_id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _COLUMNS[1:])
)


def row_of(row: Row) -> CatalogRow:
    return CatalogRow.model_validate({column: row[column] for column in E1_COLUMNS})


class CatalogRepo:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    async def upsert(tx: Transaction, row: CatalogRow, *, via_node: str) -> None:
        values = row.model_dump()
        await tx.execute(_UPSERT, [values[column] for column in E1_COLUMNS] + [via_node])

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
        sql = "SELECT DISTINCT via_node FROM catalog WHERE certificate_holder_code = ?"
        params: list[str] = [holder_code]
        if type_code:
            sql += " AND certificate_type_code = ?"
            params.append(type_code)
        if number:
            sql += " AND certificate_number = ?"
            params.append(number)
        return [str(row[0]) for row in await self.db.fetchall(sql, params)]

    async def count(self) -> int:
        """Every row, cancelled (``D``) ones included: they still route to their owner (21)."""
        return int(await self.db.scalar("SELECT count(*) FROM catalog"))
