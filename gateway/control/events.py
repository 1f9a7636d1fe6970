"""The network's event stream, read back (issue #12): every node's file and the control file,
merged in time order, filtered, followed as it grows. The record format is
``gateway.core.events``'s; ``ControlEvents`` is the writer of the operator's tools.

``read_events(state, EventFilter(request_id=...))`` answers the records sorted by ``ts``: for a
request, the nodes it passed through in the order it reached them. ``EventTail`` hands out what
was appended since its last look (whole lines only); ``follow_events`` and ``wait_for_events``
are built on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from gateway.control.state import StateDir
from gateway.core.events import CONTROL_FILE, SUFFIX, append_event

Record = dict[str, Any]
POLL_EVERY = 0.1  # seconds between looks at the files while following or waiting


class ControlEvents:
    """``emit`` appends one record to ``<state>/events/control.jsonl`` at once, ``by`` a tool."""

    def __init__(self, state: StateDir, *, by: str):
        self.path = state.events_dir / CONTROL_FILE
        self.by = by

    def emit(self, event: str, /, at: float | None = None, **fields: Any) -> None:
        node = fields.pop("node", None)
        try:
            append_event(self.path, event, by=self.by, node=node, at=at, **fields)
        except OSError:  # the stream is a record, never a reason for an operation to fail
            return


@dataclass(frozen=True)
class EventFilter:
    """Which records to show; every field given must hold."""

    node: str | None = None  # the node the event is about
    request_id: str | None = None
    event: str | None = None  # a name (``request.handled``) or a prefix ending in "." (``fault.``)
    since: str | None = None  # a ``ts`` (ISO 8601, UTC): records from then on

    def __call__(self, record: Record) -> bool:
        if self.node is not None and record.get("node") != self.node:
            return False
        if self.request_id is not None and record.get("request_id") != self.request_id:
            return False
        name = str(record.get("event", ""))
        if self.event is not None and not (
            name == self.event or (self.event.endswith(".") and name.startswith(self.event))
        ):
            return False
        return self.since is None or str(record.get("ts", "")) >= self.since


def event_files(state: StateDir) -> list[Path]:
    """Every file of the stream, a rotated ``.jsonl.1`` before its current file."""
    directory = state.events_dir
    if not directory.is_dir():
        return []
    current = sorted(directory.glob(f"*{SUFFIX}"))
    files: list[Path] = []
    for path in current:
        rotated = path.with_name(path.name + ".1")
        files += [rotated, path] if rotated.exists() else [path]
    return files


def read_events(state: StateDir, wanted: EventFilter | None = None) -> list[Record]:
    """Every record that ``wanted`` keeps, in time order."""
    wanted = wanted or EventFilter()
    records = [
        record for path in event_files(state) for record in _records(_read(path)) if wanted(record)
    ]
    return sorted(records, key=_ts)


class EventTail:
    """What the stream's files gained since the last ``read_new`` (whole lines only)."""

    def __init__(self, state: StateDir, *, from_start: bool = True):
        self.state = state
        self._offsets: dict[Path, int] = {}
        self._rest: dict[Path, bytes] = {}
        if not from_start:
            for path in self._current():
                self._offsets[path] = path.stat().st_size

    def _current(self) -> list[Path]:
        return [path for path in event_files(self.state) if path.name.endswith(SUFFIX)]

    def read_new(self) -> list[Record]:
        found: list[Record] = []
        for path in self._current():
            offset = self._offsets.get(path, 0)
            try:
                size = path.stat().st_size
            except OSError:
                continue
            if size < offset:  # rotated: the file starts again
                offset, self._rest[path] = 0, b""
            if size == offset:
                continue
            with path.open("rb") as handle:
                handle.seek(offset)
                data = self._rest.pop(path, b"") + handle.read(size - offset)
            self._offsets[path] = size
            complete, _, rest = data.rpartition(b"\n")
            if rest:
                self._rest[path] = rest
            found += _records(complete)
        return sorted(found, key=_ts)


async def follow_events(
    state: StateDir, wanted: EventFilter | None = None, *, from_start: bool = True
) -> AsyncIterator[Record]:
    """The records ``wanted`` keeps as they are written (those already there first), for ever."""
    wanted = wanted or EventFilter()
    tail = EventTail(state, from_start=from_start)
    while True:
        for record in tail.read_new():
            if wanted(record):
                yield record
        await asyncio.sleep(POLL_EVERY)


async def wait_for_events(
    state: StateDir,
    done: Callable[[list[Record]], bool],
    wanted: EventFilter | None = None,
    *,
    within: float = 10.0,
) -> list[Record]:
    """The records ``wanted`` keeps, once ``done`` says they are enough (in time order).

    TimeoutError after ``within`` seconds, naming what was seen.
    """
    wanted = wanted or EventFilter()
    tail = EventTail(state)
    seen: list[Record] = []
    deadline = time.monotonic() + within
    while True:
        seen = sorted(seen + [r for r in tail.read_new() if wanted(r)], key=_ts)
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            names = [f"{r.get('node')}:{r.get('event')}" for r in seen][-20:]
            raise TimeoutError(f"the events did not come within {within:g} s; seen: {names}")
        await asyncio.sleep(POLL_EVERY)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _records(data: bytes) -> list[Record]:
    records = []
    for line in data.splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:  # a line cut short by a crash
            continue
        if isinstance(record, dict) and "ts" in record:
            records.append(record)
    return records


def _ts(record: Record) -> str:
    return str(record.get("ts", ""))
