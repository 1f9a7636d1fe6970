"""The certificate type catalogue (目录维护, SPEC §7): Table 18 items and surface templates.

A type takes effect (GetCertificateType lists it, calls may name it) once it is approved.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from nodes.model.types import CertificateType
from nodes.store.db import Database, Row, Transaction

BUILTIN = "builtin"  # defined_at_node of the built-in types every node starts with

_UPSERT = (
    "INSERT INTO certificate_type (type_code, record, defined_at_node, approved, updated_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (type_code) DO UPDATE SET record = excluded.record,"
    " defined_at_node = excluded.defined_at_node, approved = excluded.approved,"
    " updated_at = excluded.updated_at"
)
_INSERT_NEW = (
    "INSERT INTO certificate_type (type_code, record, defined_at_node, approved, updated_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (type_code) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class StoredType:
    type: CertificateType
    defined_at_node: str
    approved: bool
    updated_at: str


def _stored(row: Row) -> StoredType:
    return StoredType(
        type=CertificateType.model_validate(orjson.loads(row["record"])),
        defined_at_node=row["defined_at_node"],
        approved=bool(row["approved"]),
        updated_at=row["updated_at"],
    )


def _values(
    ctype: CertificateType, defined_at_node: str, approved: bool, now: str
) -> tuple[str, bytes, str, int, str]:
    record = orjson.dumps(ctype.model_dump(mode="json"))
    return (ctype.CertificateTypeCode, record, defined_at_node, int(approved), now)


class TypeRepo:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    async def save(
        tx: Transaction, ctype: CertificateType, *, defined_at_node: str, approved: bool, now: str
    ) -> None:
        """Insert or replace a type (inside the caller's transaction)."""
        await tx.execute(_UPSERT, _values(ctype, defined_at_node, approved, now))

    async def define(
        self, ctype: CertificateType, *, defined_at_node: str, approved: bool, now: str
    ) -> None:
        async with self.db.transaction() as tx:
            await self.save(tx, ctype, defined_at_node=defined_at_node, approved=approved, now=now)

    async def add_missing(
        self, types: list[CertificateType], *, defined_at_node: str, approved: bool, now: str
    ) -> int:
        """Insert the types not stored yet (existing ones, maybe changed by an admin, stay)."""
        async with self.db.transaction() as tx:
            before = int(await tx.scalar("SELECT count(*) FROM certificate_type"))
            await tx.executemany(
                _INSERT_NEW, [_values(t, defined_at_node, approved, now) for t in types]
            )
            after = int(await tx.scalar("SELECT count(*) FROM certificate_type"))
        return after - before

    async def approve(self, type_code: str, *, now: str) -> bool:
        changed = await self.db.execute(
            "UPDATE certificate_type SET approved = 1, updated_at = ? WHERE type_code = ?",
            (now, type_code),
        )
        return changed > 0

    async def get(self, type_code: str) -> StoredType | None:
        row = await self.db.fetchone(
            "SELECT record, defined_at_node, approved, updated_at FROM certificate_type"
            " WHERE type_code = ?",
            (type_code,),
        )
        return None if row is None else _stored(row)

    async def is_published(self, type_code: str) -> bool:
        """Known and approved: a call may name it (otherwise 13)."""
        value = await self.db.scalar(
            "SELECT approved FROM certificate_type WHERE type_code = ?", (type_code,)
        )
        return bool(value)

    async def codes(self) -> frozenset[str]:
        """Every type code this node knows: built in, defined here or below, approved or not
        (catalog ingest refuses rows of any other)."""
        rows = await self.db.fetchall("SELECT type_code FROM certificate_type")
        return frozenset(str(row[0]) for row in rows)

    async def all(self) -> list[StoredType]:
        rows = await self.db.fetchall(
            "SELECT record, defined_at_node, approved, updated_at FROM certificate_type"
            " ORDER BY type_code"
        )
        return [_stored(row) for row in rows]

    async def approved(self) -> list[CertificateType]:
        rows = await self.db.fetchall(
            "SELECT record, defined_at_node, approved, updated_at FROM certificate_type"
            " WHERE approved = 1 ORDER BY type_code"
        )
        return [_stored(row).type for row in rows]

    async def last_change(self) -> str | None:
        """The newest ``updated_at`` of a type that is not built in (None without one): a cheap
        check before reading the types themselves."""
        value = await self.db.scalar(
            "SELECT max(updated_at) FROM certificate_type WHERE defined_at_node != ?", (BUILTIN,)
        )
        return None if value is None else str(value)

    async def count(self, *, approved_only: bool = False) -> int:
        where = " WHERE approved = 1" if approved_only else ""
        sql = f"SELECT count(*) FROM certificate_type{where}"
        return int(await self.db.scalar(sql))
