"""The audit log's writer: every row written, in as few distinct statements as it promises.

Each distinct statement text stays prepared in the connection's cache, in SQLite's own memory;
a writer that made one per batch length grew a busy node by megabytes (scripts/soak.py)."""

from __future__ import annotations

from pathlib import Path

from nodes.store.audit import AuditLog, AuditRecord
from nodes.store.db import Database


def record(n: int) -> AuditRecord:
    return AuditRecord("2026-12-05T10:00:00+08:00", f"r{n}", "acct", "127.0.0.9", "Token", "", "0")


async def test_batches_of_any_length_are_written_whole_by_five_statements(tmp_path: Path) -> None:
    async with Database(tmp_path / "node.db") as db:
        texts: set[str] = set()
        await db.conn.set_trace_callback(
            lambda sql: (
                texts.add(sql.split(" VALUES ")[0] + str(sql.count("(")))
                if sql.startswith("INSERT INTO audit_log")
                else None
            )
        )
        audit = AuditLog(db)
        written = 0
        for length in [*range(1, 300), 1000, 777]:
            for n in range(length):
                audit.record(record(written + n))
            assert await audit.flush() == length
            written += length
        assert await db.scalar("SELECT count(*) FROM audit_log") == written
        assert await db.scalar("SELECT count(DISTINCT request_id) FROM audit_log") == written
        assert len(texts) <= 5, sorted(texts)
