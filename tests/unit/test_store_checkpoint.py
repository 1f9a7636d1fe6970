"""The WAL is copied back into the database file from a second connection, beside the writer:
a checkpoint never waits for a write transaction, nor a write for a checkpoint."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nodes.store.db import Database

ROWS = [(f"key-{n}", "x" * 1000) for n in range(2000)]  # ~2 MB: well over one WAL page


async def _fill(db: Database, rows: list[tuple[str, str]]) -> None:
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO node_state (key, value) VALUES (?, ?)", rows)


async def test_a_checkpoint_copies_what_is_committed_while_a_write_is_open(tmp_path: Path) -> None:
    async with Database(tmp_path / "node.db") as db:
        await _fill(db, ROWS[:1000])
        async with db.transaction() as tx:
            await tx.executemany("INSERT INTO node_state (key, value) VALUES (?, ?)", ROWS[1000:])
            in_wal, copied = await asyncio.wait_for(db.checkpoint(), timeout=10)
        assert in_wal > 0
        assert copied == in_wal  # every committed page; the open transaction's are not in it
        assert await db.scalar("SELECT count(*) FROM node_state") == len(ROWS)


async def test_a_big_commit_reaches_the_database_file_without_the_writer(tmp_path: Path) -> None:
    """``checkpoint_soon`` copies the WAL back in the background (the writer's own checkpoint
    waits for 64 MiB of WAL); a store closed with one pending keeps every row."""
    path = tmp_path / "node.db"
    async with Database(path) as db:
        before = path.stat().st_size
        await _fill(db, ROWS)
        assert path.stat().st_size == before  # committed, in the WAL only
        db.checkpoint_soon()
        deadline = asyncio.get_running_loop().time() + 10
        while path.stat().st_size < before + 1_000_000:
            assert asyncio.get_running_loop().time() < deadline, "no background checkpoint"
            await asyncio.sleep(0.01)
        await _fill(db, [(f"more-{n}", "y") for n in range(10)])
        db.checkpoint_soon()
        db.checkpoint_soon()  # while the first may still run: one more after it, not two at once
    async with Database(path) as db:
        assert await db.scalar("SELECT count(*) FROM node_state") == len(ROWS) + 10
