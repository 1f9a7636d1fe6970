"""The audit log: one row per call of a §7.3 method, rejected calls included, per admin action
(``method`` ``admin``, ``status`` the HTTP status) and per file download (``method`` ``file``).

Rows are queued in memory and written in batches (every ``batch_size`` rows or ``interval``
seconds) by ``AuditLog.flush_loop``, so the hot path never waits for SQLite. ``close()`` makes the
loop write what is left and stop: a clean shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType

import structlog

from nodes.errors import StoreError
from nodes.store.db import Database, where_equal

log = structlog.get_logger()

_COLUMNS = 10
_SELECT = (
    "SELECT time, request_id, account_id, peer_ip, method, use_for, status, caller, route, detail"
    " FROM audit_log"
)


def _insert(rows: int) -> str:
    """One INSERT of ``rows`` rows: SQLite runs it in one step, so the worker thread gives the
    event loop back the interpreter once per statement rather than once per row."""
    values = ", ".join(["(" + ", ".join(["?"] * _COLUMNS) + ")"] * rows)
    return (
        "INSERT INTO audit_log (time, request_id, account_id, peer_ip, method, use_for, status,"
        f" caller, route, detail) VALUES {values}"
    )


# A batch is written as statements of these sizes only, largest first. Each distinct text is a
# prepared statement in the connection's cache (SQLite's native memory, which tracemalloc does
# not see): with a statement for every batch length, a busy node's memory grew with each new
# length its batches took (scripts/soak.py). 256 × 10 variables, far below SQLite's 32,766.
_STATEMENT_ROWS = (256, 64, 16, 4, 1)
_INSERTS = MappingProxyType({rows: _insert(rows) for rows in _STATEMENT_ROWS})


def _statements(count: int) -> Iterator[tuple[int, int]]:
    """(start, rows) of the statements that write ``count`` rows."""
    start = 0
    for rows in _STATEMENT_ROWS:
        while count - start >= rows:
            yield start, rows
            start += rows


@dataclass(frozen=True, slots=True)
class AuditRecord:
    time: str
    request_id: str
    account_id: str
    peer_ip: str
    method: str
    use_for: str  # UseFor
    status: str  # the Appendix D return code answered
    caller: str = ""
    route: str = ""  # comma-separated node ids
    detail: str = ""  # admin actions and file downloads: what was done to what

    def row(self) -> tuple[str, ...]:
        return (
            self.time,
            self.request_id,
            self.account_id,
            self.peer_ip,
            self.method,
            self.use_for,
            self.status,
            self.caller,
            self.route,
            self.detail,
        )

    def public(self) -> dict[str, str]:
        return {
            "time": self.time,
            "request_id": self.request_id,
            "account_id": self.account_id,
            "peer_ip": self.peer_ip,
            "method": self.method,
            "use_for": self.use_for,
            "status": self.status,
            "caller": self.caller,
            "route": self.route,
            "detail": self.detail,
        }


class AuditLog:
    """Buffered writer of ``audit_log`` rows."""

    def __init__(self, db: Database, *, batch_size: int = 256, interval: float = 0.5):
        self.db = db
        self.batch_size = batch_size
        self.interval = interval
        self._pending: list[AuditRecord] = []
        self._wake = asyncio.Event()
        self._closed = False

    def record(self, entry: AuditRecord) -> None:
        self._pending.append(entry)
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    async def flush(self) -> int:
        """Write every queued row now; return how many were written."""
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            async with self.db.transaction() as tx:
                for start, rows in _statements(len(batch)):
                    chunk = batch[start : start + rows]
                    await tx.execute(_INSERTS[rows], [v for e in chunk for v in e.row()])
        except StoreError as exc:
            log.error("audit.write_failed", rows=len(batch), error=str(exc))
            return 0
        return len(batch)

    async def flush_loop(self) -> None:
        """Write batches until ``close()``; then write the rest."""
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            await self.flush()
        await self.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()


class AuditRepo:
    """Reading the audit log (admin and tests)."""

    def __init__(self, db: Database):
        self.db = db

    async def by_request(self, request_id: str) -> list[AuditRecord]:
        rows = await self.db.fetchall(f"{_SELECT} WHERE request_id = ? ORDER BY id", (request_id,))
        return [AuditRecord(*row) for row in rows]

    async def recent(self, limit: int = 100) -> list[AuditRecord]:
        rows = await self.db.fetchall(f"{_SELECT} ORDER BY id DESC LIMIT ?", (limit,))
        return [AuditRecord(*row) for row in rows]

    async def find(
        self,
        *,
        request_id: str | None = None,
        account_id: str | None = None,
        method: str | None = None,
        since: str | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Rows matching every filter given (``since``: an audit time, inclusive), newest first."""
        where, params = where_equal(
            [], [("request_id", request_id), ("account_id", account_id), ("method", method)]
        )
        if since:
            where = f"{where} AND time >= ?" if where else " WHERE time >= ?"
            params.append(since)
        rows = await self.db.fetchall(
            f"{_SELECT}{where} ORDER BY id DESC LIMIT ?", [*params, limit]
        )
        return [AuditRecord(*row) for row in rows]

    async def count(self) -> int:
        return int(await self.db.scalar("SELECT count(*) FROM audit_log"))

    async def roll_up(self, *, before: str, keep: int) -> int:
        """Count rows older than ``before`` (an audit time) or beyond the newest ``keep`` into
        ``audit_daily`` and delete them; return how many went."""
        async with self.db.transaction() as tx:
            cut = await tx.scalar(
                "SELECT max(coalesce((SELECT max(id) FROM audit_log WHERE time < ?), 0),"
                " coalesce((SELECT max(id) FROM audit_log), 0) - ?)",
                (before, keep),
            )
            if not cut:
                return 0
            await tx.execute(
                "INSERT INTO audit_daily (day, method, status, calls)"
                " SELECT substr(time, 1, 10), method, status, count(*) FROM audit_log"
                " WHERE id <= ? GROUP BY 1, 2, 3"
                " ON CONFLICT (day, method, status) DO UPDATE SET calls = calls + excluded.calls",
                (cut,),
            )
            return await tx.execute("DELETE FROM audit_log WHERE id <= ?", (cut,))

    async def daily(self) -> list[tuple[str, str, str, int]]:
        """(day, method, status, calls) of the rolled-up history, oldest first."""
        rows = await self.db.fetchall(
            "SELECT day, method, status, calls FROM audit_daily ORDER BY day, method, status"
        )
        return [(row[0], row[1], row[2], int(row[3])) for row in rows]
