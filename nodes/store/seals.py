"""Seals known at this node (table ``seal``): its own authorities' (``node`` is this node) and
those learnt from its subtree with the type catalogue (``nodes.seals.exchange``).

``get`` is on the path of every VerifyCertificate: its answers are remembered until the table
changes (``StoreMemo``).
"""

from __future__ import annotations

import orjson

from nodes.model.seal import Seal
from nodes.store.db import Database, Transaction
from nodes.store.memo import StoreMemo

_COLUMNS = "seal_id, authority_code, node, record, updated_at"


class SealRepo:
    def __init__(self, db: Database):
        self.db = db
        self.memo = StoreMemo(db, "seal")

    @staticmethod
    async def save(tx: Transaction, seal: Seal, *, now: str) -> None:
        await tx.execute(
            f"INSERT INTO seal ({_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (seal_id) DO UPDATE"
            " SET authority_code = excluded.authority_code, node = excluded.node,"
            " record = excluded.record, updated_at = excluded.updated_at",
            (
                seal.SealID,
                seal.CertificateIssuingAuthorityCode,
                seal.node,
                orjson.dumps(seal.to_record()),
                now,
            ),
        )

    async def get(self, seal_id: str) -> Seal | None:
        return await self.memo.get(("id", seal_id), lambda: self._get(seal_id))

    async def _get(self, seal_id: str) -> Seal | None:
        row = await self.db.fetchone("SELECT record FROM seal WHERE seal_id = ?", (seal_id,))
        return None if row is None else Seal.model_validate(orjson.loads(row[0]))

    async def of_authority(self, authority_code: str, *, node: str) -> list[Seal]:
        """The seals of one authority held at ``node``, newest (highest sequence) first."""
        rows = await self.db.fetchall(
            "SELECT record FROM seal WHERE authority_code = ? AND node = ? ORDER BY seal_id DESC",
            (authority_code, node),
        )
        return [Seal.model_validate(orjson.loads(row[0])) for row in rows]

    async def all(self, *, node: str | None = None) -> list[Seal]:
        sql, params = "SELECT record FROM seal ORDER BY seal_id", []
        if node is not None:
            sql, params = "SELECT record FROM seal WHERE node = ? ORDER BY seal_id", [node]
        rows = await self.db.fetchall(sql, params)
        return [Seal.model_validate(orjson.loads(row[0])) for row in rows]

    async def changed_since(self, since: str) -> list[tuple[Seal, str]]:
        """(seal, updated_at) of every seal written after ``since``, oldest first."""
        rows = await self.db.fetchall(
            "SELECT record, updated_at FROM seal WHERE updated_at > ? ORDER BY updated_at",
            (since,),
        )
        return [(Seal.model_validate(orjson.loads(row[0])), str(row[1])) for row in rows]

    async def last_change(self) -> str | None:
        value = await self.db.scalar("SELECT max(updated_at) FROM seal")
        return None if value is None else str(value)
