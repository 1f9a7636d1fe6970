"""Front-end table E.2 at the child: the anomalies its parent found in its batches (SPEC §6.2 d, e).

A row is keyed by (cd_batch, certificate_source_id, error_remark), so receiving the same anomaly
message twice stores it once. An anomaly is open until a later batch carrying the same
certificate_source_id is acknowledged without one (``resolved_at``).

An anomaly of a row this node forwarded for a child (``relay_to``) is passed on to that child
until the child says it stored them (``relay_done``); ``relay_sent_at`` paces the resends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

import orjson

from nodes.store.db import Database, Row, Transaction
from nodes.store.schema import E1_COLUMNS

ANOMALY_COLUMNS: tuple[str, ...] = (*E1_COLUMNS, "error_remark")
_values = itemgetter(*ANOMALY_COLUMNS)
_INSERT = (
    f"INSERT INTO anomaly ({', '.join(ANOMALY_COLUMNS)}, received_at, relay_to)"
    f" VALUES ({', '.join('?' for _ in ANOMALY_COLUMNS)}, ?, ?)"
    " ON CONFLICT (cd_batch, certificate_source_id, error_remark) DO NOTHING"
)
_SELECT = (
    f"SELECT {', '.join(ANOMALY_COLUMNS)}, received_at, resolved_at, relay_to, relay_done"
    " FROM anomaly"
)


def anomaly_dict(row: Row) -> dict[str, str | bool | None]:
    """An E.2 row as the admin API shows it: ``status`` open or resolved; ``relay_to`` the child
    it is passed on to ("" when it concerns this node's own row) and whether that child
    confirmed it."""
    item: dict[str, str | bool | None] = {
        key: row[key] for key in (*ANOMALY_COLUMNS, "received_at", "resolved_at")
    }
    item["status"] = "open" if row["resolved_at"] is None else "resolved"
    item["relay_to"] = row["relay_to"]
    item["relay_confirmed"] = bool(row["relay_done"]) if row["relay_to"] else None
    return item


class AnomalyRepo:
    def __init__(self, db: Database):
        self.db = db

    async def keys_of_batch(self, cd_batch: str) -> set[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT certificate_source_id, error_remark FROM anomaly WHERE cd_batch = ?",
            (cd_batch,),
        )
        return {(row[0], row[1]) for row in rows}

    async def count_of_batch(self, cd_batch: str) -> int:
        return int(
            await self.db.scalar("SELECT count(*) FROM anomaly WHERE cd_batch = ?", (cd_batch,))
        )

    @staticmethod
    async def add(
        tx: Transaction,
        rows: Sequence[dict[str, str]],
        *,
        received_at: str,
        relay_to: Mapping[str, str] | None = None,
    ) -> None:
        """Store E.2 rows; ``relay_to`` maps a certificate_source_id to the child to tell."""
        relay = relay_to or {}
        await tx.executemany(
            _INSERT,
            [
                (*_values(row), received_at, relay.get(row["certificate_source_id"], ""))
                for row in rows
            ],
        )

    # -- relays to children ----------------------------------------------------------------------
    async def relays_due(self, *, now: float, resend_after: float) -> list[tuple[str, str]]:
        """(child, cd_batch) of anomalies to pass on: never sent, or unconfirmed for a while."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT relay_to, cd_batch FROM anomaly"
            " WHERE relay_done = 0 AND relay_to != ''"
            " AND (relay_sent_at IS NULL OR relay_sent_at <= ?) ORDER BY cd_batch, relay_to",
            (now - resend_after,),
        )
        return [(str(row[0]), str(row[1])) for row in rows]

    async def relay_rows(self, child: str, cd_batch: str) -> list[dict[str, str]]:
        rows = await self.db.fetchall(
            f"SELECT {', '.join(ANOMALY_COLUMNS)} FROM anomaly"
            " WHERE relay_to = ? AND cd_batch = ? ORDER BY certificate_source_id, error_remark",
            (child, cd_batch),
        )
        return [{key: row[key] for key in ANOMALY_COLUMNS} for row in rows]

    async def relay_sent(self, child: str, cd_batch: str, *, at: float) -> None:
        await self.db.execute(
            "UPDATE anomaly SET relay_sent_at = ? WHERE relay_to = ? AND cd_batch = ?",
            (at, child, cd_batch),
        )

    async def relay_done(self, child: str, cd_batch: str) -> int:
        """The child stored these anomalies: stop sending them; how many rows that settles."""
        return await self.db.execute(
            "UPDATE anomaly SET relay_done = 1 WHERE relay_to = ? AND cd_batch = ?"
            " AND relay_done = 0",
            (child, cd_batch),
        )

    async def relays_pending(self) -> int:
        return int(
            await self.db.scalar(
                "SELECT count(*) FROM anomaly WHERE relay_to != '' AND relay_done = 0"
            )
        )

    @staticmethod
    async def resolve(
        tx: Transaction, certificate_ids: Iterable[str], *, except_batch: str, at: str
    ) -> int:
        """Close the open anomalies of these certificates found in batches other than this one."""
        ids = sorted(set(certificate_ids))
        if not ids:
            return 0
        return await tx.execute(
            "UPDATE anomaly SET resolved_at = ? WHERE resolved_at IS NULL AND cd_batch != ?"
            " AND certificate_source_id IN (SELECT value FROM json_each(?))",
            (at, except_batch, _json_list(ids)),
        )

    async def find(
        self, *, state: str = "all", certificate_id: str | None = None, limit: int = 1000
    ) -> list[dict[str, str | bool | None]]:
        """``state``: ``open``, ``resolved`` or ``all``; newest first."""
        clauses: list[str] = []
        params: list[object] = []
        if state == "open":
            clauses.append("resolved_at IS NULL")
        elif state == "resolved":
            clauses.append("resolved_at IS NOT NULL")
        if certificate_id:
            clauses.append("certificate_source_id = ?")
            params.append(certificate_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.db.fetchall(
            f"{_SELECT}{where} ORDER BY received_at DESC, cd_batch, certificate_source_id LIMIT ?",
            [*params, limit],
        )
        return [anomaly_dict(row) for row in rows]

    async def open_count(self) -> int:
        return int(await self.db.scalar("SELECT count(*) FROM anomaly WHERE resolved_at IS NULL"))


def _json_list(values: Sequence[str]) -> str:
    return orjson.dumps(list(values)).decode()
