"""A store written by an earlier version opens with every later migration applied, its rows kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from nodes.store.anomalies import ANOMALY_COLUMNS, AnomalyRepo
from nodes.store.db import Database
from nodes.store.outbox import OutboxRepo
from nodes.store.schema import MIGRATIONS


def _store_at_version(path: Path, version: int) -> None:
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:version]:
            db.executescript(script)
        db.execute(f"PRAGMA user_version={version}")
        columns = ", ".join((*ANOMALY_COLUMNS, "received_at"))
        marks = ", ".join("?" for _ in (*ANOMALY_COLUMNS, "received_at"))
        values = dict.fromkeys(ANOMALY_COLUMNS, "")
        values |= {"certificate_source_id": "1.2.156.X", "cd_batch": "hlj-7", "error_remark": "r"}
        db.execute(
            f"INSERT INTO anomaly ({columns}) VALUES ({marks})",
            [*(values[c] for c in ANOMALY_COLUMNS), "2026-11-28T10:00:00+08:00"],
        )


async def test_a_version_2_store_gains_the_relay_columns_and_keeps_its_anomalies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "node.db"
    _store_at_version(path, 2)
    async with Database(path) as db:
        assert await db.scalar("PRAGMA user_version") == len(MIGRATIONS)
        repo = AnomalyRepo(db)
        [kept] = await repo.find()
        assert (kept["cd_batch"], kept["error_remark"]) == ("hlj-7", "r")
        assert await repo.relays_pending() == 0  # not one to pass on: it came for this node
        assert await repo.relays_due(now=1e12, resend_after=0) == []


async def test_a_version_3_store_keeps_its_queued_rows_and_batches_them_as_before(
    tmp_path: Path,
) -> None:
    path = tmp_path / "node.db"
    _store_at_version(path, 3)
    with sqlite3.connect(path) as old:
        old.executemany(
            "INSERT INTO outbox (certificate_source_id, cd_batch) VALUES (?, ?)",
            [("1.2.156.A", "hlj-7"), ("1.2.156.B", "hlj-7"), ("1.2.156.C", "")],
        )
    async with Database(path) as db:
        outbox = OutboxRepo(db)
        assert await outbox.pending() == 3
        [sent] = await outbox.batches()
        assert (sent.cd_batch, sent.rows) == ("hlj-7", 2)
        rows = await outbox.batch_rows("hlj-7")
        assert [row["certificate_source_id"] for row in rows] == ["1.2.156.A", "1.2.156.B"]
        async with db.transaction() as tx:
            assert await OutboxRepo.form_batch(tx, "hlj-8", limit=1000) == 1
