"""StoreMemo: a remembered store answer never outlives a write to its table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nodes.store.db import Database
from nodes.store.memo import StoreMemo

ID = "1.2.156.3005.2.X"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "node.db") as database:
        await database.execute(
            "INSERT INTO node_state (key, value) VALUES (?, ?)", ("status", "first")
        )
        yield database


class Reader:
    """Reads node_state through a memo and counts the store reads."""

    def __init__(self, db: Database, memo: StoreMemo):
        self.db, self.memo, self.reads = db, memo, 0

    async def status(self) -> str | None:
        async def lookup() -> str | None:
            self.reads += 1
            value = await self.db.scalar("SELECT value FROM node_state WHERE key = 'status'")
            return None if value is None else str(value)

        return await self.memo.get(ID, lookup)


async def test_an_answer_is_read_once_and_forgotten_after_a_write(db: Database) -> None:
    memo = StoreMemo(db, "node_state")
    await memo.install()
    reader = Reader(db, memo)
    assert [await reader.status(), await reader.status()] == ["first", "first"]
    assert reader.reads == 1
    await db.execute("UPDATE node_state SET value = 'second' WHERE key = 'status'")
    assert await reader.status() == "second"
    await db.execute("DELETE FROM node_state")
    assert await reader.status() is None
    assert reader.reads == 3


async def test_an_answer_that_overlapped_a_write_is_not_kept(db: Database) -> None:
    memo = StoreMemo(db, "node_state")
    await memo.install()

    async def racing() -> str:
        await db.execute("UPDATE node_state SET value = 'during' WHERE key = 'status'")
        return "read before the write"

    assert await memo.get(ID, racing) == "read before the write"
    assert await Reader(db, memo).status() == "during"


async def test_a_write_by_another_connection_is_seen_after_the_ttl(
    db: Database, tmp_path: Path
) -> None:
    memo = StoreMemo(db, "node_state", ttl=0.0)
    await memo.install()
    reader = Reader(db, memo)
    assert await reader.status() == "first"
    async with Database(tmp_path / "node.db") as other:  # not watched: only the ttl helps
        await other.execute("UPDATE node_state SET value = 'elsewhere' WHERE key = 'status'")
    assert await reader.status() == "elsewhere"


async def test_not_installed_it_reads_the_store_every_time(db: Database) -> None:
    reader = Reader(db, StoreMemo(db, "node_state"))
    await reader.status()
    await reader.status()
    assert reader.reads == 2
