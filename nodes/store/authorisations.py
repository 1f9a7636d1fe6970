"""Authorisations (§8.1.3, §8.1.4): the grants of this node's certificates, and the network's
grant index (what every node last published of its active grants; ``nodes.authorisation``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nodes.store.db import Database, Row, Transaction, where_equal

_GRANT_COLUMNS = (
    "id, certificate_id, type_code, number, grantor_code, grantor_name, grantee_code,"
    " grantee_name, reason, granted_at, withdrawn_at, withdraw_reason"
)
_INDEX_COLUMNS = (
    "node_id, certificate_id, type_code, number, grantor_code, grantor_name, grantee_code,"
    " grantee_name"
)


@dataclass(frozen=True, slots=True)
class Grant:
    """One authorisation of a certificate held here to another holder."""

    id: int
    certificate_id: str
    type_code: str
    number: str
    grantor_code: str
    grantor_name: str
    grantee_code: str
    grantee_name: str
    reason: str
    granted_at: str
    withdrawn_at: str = ""
    withdraw_reason: str = ""

    @property
    def active(self) -> bool:
        return not self.withdrawn_at

    def public(self) -> dict[str, Any]:
        return {**asdict(self), "active": self.active}


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """An active grant as the node holding the certificate (``node_id``) published it."""

    node_id: str
    certificate_id: str
    type_code: str
    number: str
    grantor_code: str
    grantor_name: str
    grantee_code: str
    grantee_name: str


def _grant(row: Row) -> Grant:
    return Grant(*row)


class AuthorisationRepo:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    async def add(tx: Transaction, grant: Grant) -> int:
        """Record ``grant`` (its ``id`` is ignored); the new id."""
        await tx.execute(
            "INSERT INTO authorisation (certificate_id, type_code, number, grantor_code,"
            " grantor_name, grantee_code, grantee_name, reason, granted_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                grant.certificate_id,
                grant.type_code,
                grant.number,
                grant.grantor_code,
                grant.grantor_name,
                grant.grantee_code,
                grant.grantee_name,
                grant.reason,
                grant.granted_at,
            ),
        )
        return int(await tx.scalar("SELECT last_insert_rowid()"))

    @staticmethod
    async def withdraw(tx: Transaction, grant_id: int, *, at: str, reason: str) -> int:
        """Mark an active grant withdrawn; how many were (0 or 1)."""
        return await tx.execute(
            "UPDATE authorisation SET withdrawn_at = ?, withdraw_reason = ?"
            " WHERE id = ? AND withdrawn_at = ''",
            (at, reason, grant_id),
        )

    async def get(self, grant_id: int) -> Grant | None:
        row = await self.db.fetchone(
            f"SELECT {_GRANT_COLUMNS} FROM authorisation WHERE id = ?", (grant_id,)
        )
        return None if row is None else _grant(row)

    async def active_of(self, certificate_id: str, grantee_code: str) -> Grant | None:
        row = await self.db.fetchone(
            f"SELECT {_GRANT_COLUMNS} FROM authorisation WHERE certificate_id = ?"
            " AND grantee_code = ? AND withdrawn_at = ''",
            (certificate_id, grantee_code),
        )
        return None if row is None else _grant(row)

    async def listing(
        self, *, holder_code: str | None = None, active_only: bool = False
    ) -> list[Grant]:
        """Grants made here, newest first: all, or those ``holder_code`` made or received."""
        clauses, params = [], []
        if holder_code is not None:
            clauses.append("(grantor_code = ? OR grantee_code = ?)")
            params += [holder_code, holder_code]
        if active_only:
            clauses.append("withdrawn_at = ''")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.db.fetchall(
            f"SELECT {_GRANT_COLUMNS} FROM authorisation{where} ORDER BY id DESC", params
        )
        return [_grant(row) for row in rows]

    # -- the network's grant index ---------------------------------------------------------------
    @staticmethod
    async def replace_index(tx: Transaction, node_id: str, entries: list[IndexEntry]) -> None:
        """What ``node_id`` published replaces what it published before."""
        await tx.execute("DELETE FROM grant_index WHERE node_id = ?", (node_id,))
        await tx.executemany(
            f"INSERT OR REPLACE INTO grant_index ({_INDEX_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    node_id,
                    e.certificate_id,
                    e.type_code,
                    e.number,
                    e.grantor_code,
                    e.grantor_name,
                    e.grantee_code,
                    e.grantee_name,
                )
                for e in entries
            ],
        )

    async def granted_to(
        self, grantee_code: str, *, type_code: str | None = None, number: str | None = None
    ) -> list[IndexEntry]:
        """Active grants to ``grantee_code`` anywhere in the network, as last published."""
        where, params = where_equal(
            [("grantee_code", grantee_code)], [("type_code", type_code), ("number", number)]
        )
        rows = await self.db.fetchall(
            f"SELECT {_INDEX_COLUMNS} FROM grant_index{where} ORDER BY certificate_id", params
        )
        return [IndexEntry(*row) for row in rows]

    async def granted_by(self, node_id: str) -> list[IndexEntry]:
        """The index entries of ``node_id`` (this node's own: its active grants)."""
        rows = await self.db.fetchall(
            f"SELECT {_INDEX_COLUMNS} FROM grant_index WHERE node_id = ? ORDER BY certificate_id",
            (node_id,),
        )
        return [IndexEntry(*row) for row in rows]
