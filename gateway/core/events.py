"""The event stream (issue #12): what each node (and the operator's tools) did, as JSON lines.

Every node appends to ``<state>/events/<node-id>.jsonl``; the operator's tools (the fault keeper,
the process table) to ``<state>/events/control.jsonl``. One record a line::

    {"ts": "2026-12-06T02:03:04.123456+00:00", "node": "hlj-harbin", "event": "request.handled",
     "request_id": "…", "method": "GetCertificateDataByCertificateID", "status": 0, …}

``ts`` is the machine's UTC time (never a node's skewed clock) at which the thing *began*: a
request's arrival, a forward's sending. Sorting every file's records by ``ts`` therefore puts the
nodes a request passed through in the order it reached them. ``node`` is the node the event is
about; records of the operator's tools also carry ``by`` (``control`` or ``keeper``). Fields that
are None are left out. ``gateway.control.events`` reads and merges the files.

``EventLog`` is the writer of one process: ``emit`` only appends to a list (the request path
pays for nothing else); ``node[<id>].event_flush_loop`` encodes what is queued and writes it
from a worker thread every ``interval`` seconds, and what is left when the log closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO, Protocol, Self

import orjson
import structlog

from gateway.core.trace import decode_route, decode_timing

PRIVATE_DIR = 0o700  # what a tool creates in a state directory, whatever its umask
PRIVATE_FILE = 0o600

log = structlog.get_logger()

EVENTS_DIR = "events"
CONTROL_FILE = "control.jsonl"
SUFFIX = ".jsonl"
MAX_BYTES = 64 * 1024 * 1024  # a file this big is renamed to <name>.jsonl.1 (one kept)

Pending = tuple[float, str, dict[str, Any]]  # (ts as epoch seconds, event, fields)


class EventSink(Protocol):
    def emit(self, event: str, /, at: float | None = None, **fields: Any) -> None:
        """Record ``event`` (``noun.verb_past``) that began at ``at`` (epoch s; default now)."""


class NullEvents:
    """A sink that keeps nothing (a node without a state directory, most tests)."""

    def emit(self, event: str, /, at: float | None = None, **fields: Any) -> None:
        return None


def events_dir(state_dir: Path) -> Path:
    return state_dir / EVENTS_DIR


def node_events_path(state_dir: Path, node_id: str) -> Path:
    return events_dir(state_dir) / f"{node_id}{SUFFIX}"


def timestamp(at: float) -> str:
    """``ts``: ISO 8601, UTC, microseconds; one width, so that the texts sort as the times do."""
    return Stamper()(at)


class Stamper:
    """``timestamp``, making the text of each second once (a log's records share seconds)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, at: float) -> str:
        second, micro = divmod(round(at * 1_000_000), 1_000_000)  # as datetime rounds
        if second != self._second:
            self._second, self._prefix = second, time.strftime(_SECOND, time.gmtime(second))
        return f"{self._prefix}.{micro:06d}+00:00"


_SECOND = "%Y-%m-%dT%H:%M:%S"


def encode(
    at: float,
    node: str | None,
    event: str,
    fields: dict[str, Any],
    *,
    stamp: Callable[[float], str] = timestamp,
) -> bytes:
    """One record as its line (newline included). Trace headers captured as text on the request
    path become lists here; ``ms`` is rounded to the microsecond."""
    record: dict[str, Any] = {"ts": stamp(at), "node": node, "event": event}
    record.update({key: value for key, value in fields.items() if value is not None})
    if node is None:
        del record["node"]
    if isinstance(record.get("route"), str):
        record["route"] = decode_route(record["route"])
    if "timings" in record:
        record["timings"] = _timings(record["timings"])
    if isinstance(record.get("ms"), float):
        record["ms"] = round(record["ms"], 3)
    return orjson.dumps(record, default=str) + b"\n"


def _timings(value: str | list[tuple[str, float]]) -> list[dict[str, Any]]:
    """``[{node, ms}]`` from ``Server-Timing`` text (as nodes write it: split, not parsed) or
    from (node, ms) pairs."""
    if isinstance(value, str):
        entries = [entry.partition(";dur=") for entry in value.split(", ")]
        try:
            return [{"node": name, "ms": float(ms)} for name, found, ms in entries if found]
        except ValueError:
            value = decode_timing(value)  # written otherwise: parsed as any header
    return [{"node": node, "ms": round(ms, 3)} for node, ms in value]


class EventLog:
    """``async with EventLog(path, node="hlj") as events:`` the buffered writer of one node."""

    def __init__(
        self,
        path: Path,
        *,
        node: str,
        interval: float = 0.2,
        batch_size: int = 2048,
        max_bytes: int = MAX_BYTES,
        clock: Callable[[], float] = time.time,
    ):
        self.path = path
        self.node = node
        self.interval = interval
        self.batch_size = batch_size
        self.max_bytes = max_bytes
        self.clock = clock
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._file: IO[bytes] | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._stamp = Stamper()

    def emit(self, event: str, /, at: float | None = None, **fields: Any) -> None:
        if self._closed:
            return
        self._pending.append((self.clock() if at is None else at, event, fields))
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    async def __aenter__(self) -> Self:
        self._file = open_private(self.path)
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        self._tasks.create_task(self.flush_loop(), name=f"node[{self.node}].event_flush_loop")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True  # the loop writes what is queued, then ends
        self._wake.set()
        try:
            if self._tasks is not None:
                await self._tasks.__aexit__(None, None, None)
        finally:
            if self._file is not None:
                self._file.close()
                self._file = None

    async def flush_loop(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()
        await self.flush()

    async def flush(self) -> int:
        """Write what is queued; answer how many records were written."""
        batch, self._pending = self._pending, []
        if not batch or self._file is None:
            return 0
        try:
            data = b"".join(
                encode(at, self.node, event, fields, stamp=self._stamp)
                for at, event, fields in batch
            )
            await asyncio.to_thread(self._write, data)
        except (OSError, TypeError, ValueError) as exc:  # never fatal: these records are lost
            log.error("event.write_failed", path=str(self.path), events=len(batch), error=str(exc))
            return 0
        return len(batch)

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._file.flush()
        if self._file.tell() >= self.max_bytes:
            self._file.close()
            self.path.replace(self.path.with_name(self.path.name + ".1"))
            self._file = self.path.open("ab")


def append_event(
    path: Path,
    event: str,
    *,
    by: str,
    node: str | None = None,
    at: float | None = None,
    **fields: Any,
) -> None:
    """Append one record now (the operator's tools: few events, several writing processes).

    One ``write`` of one line to a file opened for appending, so lines of processes writing at
    the same time do not interleave.
    """
    line = encode(time.time() if at is None else at, node, event, {"by": by, **fields})
    with open_private(path) as handle:
        handle.write(line)


def open_private(path: Path) -> BinaryIO:
    """``path`` opened for appending, made 0600 in a 0700 folder if new: an event stream holds
    accounts and callers' addresses, and the state directory is private."""
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE), "ab")
