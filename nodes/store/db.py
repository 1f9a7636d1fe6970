"""The SQLite connection: WAL, foreign keys, migrations, transactions, checkpoints beside the
writer. Only aiosqlite user."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite
import structlog

from nodes.errors import StoreError
from nodes.store.schema import MIGRATIONS

log = structlog.get_logger()

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]


def where_equal(
    required: Iterable[tuple[str, object]], optional: Iterable[tuple[str, object]] = ()
) -> tuple[str, list[object]]:
    """`` WHERE a = ? AND b = ?`` and its parameters: every ``required`` (column, value), and
    each ``optional`` one whose value is given (not None or empty); no clause when none is."""
    given = [*required, *((column, value) for column, value in optional if value)]
    if not given:
        return "", []
    clause = " AND ".join(f"{column} = ?" for column, _ in given)
    return f" WHERE {clause}", [value for _, value in given]


WAL_PAGES = 4000  # the writer checkpoints itself beyond this many WAL pages (64 MiB)


class Checkpointer:
    """Checkpoints of one database file from a connection of its own, beside the writer.

    SQLite copies the WAL back into the database file on the committing connection once the WAL
    holds ``wal_autocheckpoint`` pages, so a writer of big transactions waits for that copy (and
    its fsync) on its own thread: a quarter of a parent's ingest (measured at a province: COMMIT
    250 of 1,040 ms for 100,000 rows). A PASSIVE checkpoint on another connection copies what is
    committed without blocking the writer. The writer's own checkpoint stays, at ``WAL_PAGES``,
    as the bound for when this one falls behind. The connection opens when first needed; one
    checkpoint runs at a time, and a request while one runs gets one more after it.
    """

    def __init__(self, path: Path):
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._running: asyncio.Task[None] | None = None
        self._again = False
        self._one_at_a_time = asyncio.Lock()  # a checkpoint asked for directly, beside soon()'s

    def soon(self) -> None:
        """Checkpoint in the background (after the one running, if any)."""
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().create_task(
                self._loop(), name="store.checkpoint"
            )
        else:
            self._again = True

    async def run(self) -> tuple[int, int]:
        """One PASSIVE checkpoint now: (pages in the WAL, pages of it in the database file)."""
        async with self._one_at_a_time:
            if self._conn is None:
                self._conn = await aiosqlite.connect(self.path, isolation_level=None)
            async with self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)") as cursor:
                row = await cursor.fetchone()
        _, in_wal, copied = row if row is not None else (0, 0, 0)
        return int(in_wal), int(copied)

    async def close(self) -> None:
        if self._running is not None:
            self._running.cancel()
            with suppress(asyncio.CancelledError):
                await self._running
            self._running = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _loop(self) -> None:
        while True:
            self._again = False
            try:
                await self.run()
            except sqlite3.Error as exc:  # the writer's own checkpoint still bounds the WAL
                log.warning("store.checkpoint_failed", path=str(self.path), error=str(exc))
                return
            if not self._again:
                return


class Database:
    """One node's database. ``async with Database(path) as db`` opens and migrates it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        # One connection serves every coroutine: writes and transactions take turns so that one
        # coroutine's statement never lands inside (or is rolled back with) another's transaction.
        self._write_lock = asyncio.Lock()
        self._checkpointer = Checkpointer(self.path)

    async def __aenter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = await aiosqlite.connect(self.path, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            for pragma in (
                # 16 KiB pages: fewer b-tree splits when aggregation inserts thousands of catalog
                # rows per commit (takes effect when the file is created).
                "PRAGMA page_size=16384",
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                f"PRAGMA wal_autocheckpoint={WAL_PAGES}",  # else see checkpoint_soon
                "PRAGMA foreign_keys=ON",
                "PRAGMA busy_timeout=5000",
                # 2 MiB of page cache: the hot pages (indexes, catalog, accounts) stay in it,
                # and the audit log's new pages, which are written and not read again, do not
                # grow a busy node by the 64 MiB a larger cache would fill (scripts/soak.py);
                # the rest is read from the OS's file cache.
                "PRAGMA cache_size=-2048",
            ):
                await self._conn.execute(pragma)
            await self._migrate()
        except sqlite3.Error as exc:
            await self.close()
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._checkpointer.close()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def checkpoint_soon(self) -> None:
        """After a big transaction: copy the WAL into the database file from a second
        connection, beside the writes that follow (``Checkpointer``)."""
        self._checkpointer.soon()

    async def checkpoint(self) -> tuple[int, int]:
        """A checkpoint from the second connection now: (pages in the WAL, pages copied)."""
        return await self._checkpointer.run()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreError("the database is not open")
        return self._conn

    async def _migrate(self) -> None:
        async with self.conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self.conn.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
            )
            log.info("store.migrated", path=str(self.path), version=number)

    async def watch(self, table: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in the store's worker thread) after every write to ``table`` on this
        connection, through TEMP triggers; a cache uses it to forget answers the write outdated."""
        function = f"ecert_{table}_written"
        try:
            await self.conn.create_function(function, 0, callback)
            for op in ("INSERT", "UPDATE", "DELETE"):
                await self.execute(
                    f"CREATE TEMP TRIGGER IF NOT EXISTS ecert_{table}_{op.lower()} AFTER {op}"
                    f" ON main.{table} BEGIN SELECT {function}(); END"
                )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot watch {table}: {exc}") from exc

    # -- queries -----------------------------------------------------------------------------------
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query meant to return at most a few."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        # One hop to the SQLite worker thread (execute + fetch + close together), not three:
        # this is the hot path of every by-ID lookup.
        try:
            return list(await self.conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in its own transaction; return the number of rows changed."""
        async with self._write_lock:
            return await self._execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self._write_lock:
            try:
                await self.conn.executemany(sql, rows)
            except sqlite3.Error as exc:
                raise StoreError(str(exc)) from exc

    async def _execute(self, sql: str, params: Params) -> int:
        try:
            async with self.conn.execute(sql, params) as cursor:
                return cursor.rowcount
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back when the block raises.

        Inside the block use the yielded ``Transaction`` for writes (``db.execute`` would wait
        for the lock this block holds).
        """
        async with self._write_lock:
            await self._execute("BEGIN IMMEDIATE", ())
            try:
                yield Transaction(self)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self._execute("COMMIT", ())


class Transaction:
    """Writes inside ``Database.transaction()``; reads go through the database as usual."""

    def __init__(self, db: Database):
        self._db = db
        self.fetchone = db.fetchone
        self.fetchall = db.fetchall
        self.scalar = db.scalar

    async def execute(self, sql: str, params: Params = ()) -> int:
        return await self._db._execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run ``sql`` once per parameter set; the number of rows changed in all."""
        try:
            cursor = await self._db.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        return cursor.rowcount
