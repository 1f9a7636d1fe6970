"""The lifecycle history of this node's certificates (table ``certificate_history``): every
transition of every version, with reason and time, never deleted."""

from __future__ import annotations

from nodes.model.lifecycle import HistoryEntry, Transition, lineage_of
from nodes.store.db import Database, Transaction

_SELECT = (
    "SELECT certificate_id, transition, from_status, to_status, reason, time, related_id,"
    " cd_operation FROM certificate_history"
)


class HistoryRepo:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    async def add(tx: Transaction, entry: HistoryEntry) -> None:
        await tx.execute(
            "INSERT INTO certificate_history (lineage, certificate_id, transition, from_status,"
            " to_status, reason, time, related_id, cd_operation)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.lineage,
                entry.certificate_id,
                entry.transition,
                entry.from_status,
                entry.to_status,
                entry.reason,
                entry.time,
                entry.related_id,
                entry.cd_operation,
            ),
        )

    async def of_lineage(self, certificate_id: str) -> list[HistoryEntry]:
        """Every transition of every version of this certificate, oldest first."""
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE lineage = ? ORDER BY id", (lineage_of(certificate_id),)
        )
        return [HistoryEntry(*row) for row in rows]

    async def successor(self, certificate_id: str) -> str | None:
        """The CertificateID of the version a change made of this one, if one did."""
        value = await self.db.scalar(
            "SELECT related_id FROM certificate_history WHERE certificate_id = ?"
            " AND transition IN (?, ?) AND related_id != '' AND to_status = '02'"
            " ORDER BY id DESC LIMIT 1",
            (certificate_id, Transition.CHANGE.value, Transition.EXTEND.value),
        )
        return str(value) if value else None
