"""The faults in force in a network, recorded in ``<state>/run/faults.json`` (issue #12).

Any ``ecert`` call, the library and the keeper read and change it, each under an exclusive
``flock`` of ``run/faults.lock`` held only for the read-modify-write. A fault is healed by whoever
*takes* it out of the book, so a keeper's timed heal and a user's ``clear`` never heal it twice.

``end_faults`` is what ``ecert down`` does first: stop the keeper, resume paused processes and
discard the book, so that nothing of it is left for the next ``up``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from gateway.control.faults.spec import HEALED_BY_KEEPER, FaultKind, FaultRecord
from gateway.control.state import (
    KEEPER,
    ProcessTable,
    StateDir,
    open_private_log,
    private_dir,
    write_private,
)
from gateway.core.events import EventSink


class FaultBook:
    def __init__(self, state: StateDir):
        self.state = state
        self.path = state.faults_path
        self._lock_path = state.run_dir / "faults.lock"

    @contextmanager
    def _open(self) -> Iterator[dict[str, Any]]:
        """The document ``{"next": n, "faults": {id: record}}`` under the lock, written back."""
        private_dir(self.state.run_dir)
        with os.fdopen(open_private_log(self._lock_path), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            document = self._read()
            before = json.dumps(document, sort_keys=True)
            yield document
            if json.dumps(document, sort_keys=True) != before:
                self._write(document)

    def _read(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            document = {}
        if not isinstance(document, dict) or not isinstance(document.get("faults"), dict):
            document = {"next": 1, "faults": {}}
        return document

    def _write(self, document: dict[str, Any]) -> None:
        write_private(self.path, json.dumps(document, indent=2, ensure_ascii=False).encode())

    # -- reading --------------------------------------------------------------------------------
    def records(self) -> list[FaultRecord]:
        with self._open() as document:
            return _records(document)

    def get(self, fault_id: str) -> FaultRecord | None:
        return next((record for record in self.records() if record.id == fault_id), None)

    # -- changes --------------------------------------------------------------------------------
    def allocate(self) -> str:
        """A fresh fault id: ``f1``, ``f2``, … (counting on until the book is discarded)."""
        with self._open() as document:
            number = int(document.get("next", 1))
            document["next"] = number + 1
            return f"f{number}"

    def put(self, record: FaultRecord) -> None:
        with self._open() as document:
            document["faults"][record.id] = record.model_dump(mode="json")

    def take(self, fault_id: str) -> FaultRecord | None:
        """Remove the record and answer it: the caller heals the fault."""
        with self._open() as document:
            raw = document["faults"].pop(fault_id, None)
            return _record(raw)

    def take_all(self) -> list[FaultRecord]:
        with self._open() as document:
            records = _records(document)
            document["faults"] = {}
            return records

    def drop_over(self, over: Callable[[FaultRecord], bool]) -> list[FaultRecord]:
        """Remove the records ``over`` says have ended by themselves (nothing to heal)."""
        with self._open() as document:
            ended = [record for record in _records(document) if over(record)]
            for record in ended:
                del document["faults"][record.id]
            return ended

    def keeper_due(self) -> list[tuple[str, datetime]]:
        """(id, expires_at) of the timed faults only the keeper can heal."""
        return [
            (record.id, record.expires_at)
            for record in self.records()
            if record.expires_at is not None and record.spec.kind in HEALED_BY_KEEPER
        ]

    def retire_keeper(self, pid: int) -> bool:
        """The keeper ``pid`` leaves when nothing is left for it: its pid file goes, under the
        book's lock, so that a fault recorded meanwhile starts a new keeper. False: stay."""
        with self._open() as document:
            for record in _records(document):
                if record.expires_at is not None and record.spec.kind in HEALED_BY_KEEPER:
                    return False
            if self.state.read_pid(KEEPER) == pid:
                self.state.remove_pid(KEEPER)
            return True

    def discard(self) -> list[FaultRecord]:
        """Every record, and the book gone (``ecert down``)."""
        with self._open() as document:
            records = _records(document)
            document.clear()
            document.update({"next": 1, "faults": {}})
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        return records


def _records(document: dict[str, Any]) -> list[FaultRecord]:
    found = (_record(raw) for raw in document["faults"].values())
    return [record for record in found if record is not None]


def _record(raw: Any) -> FaultRecord | None:
    if raw is None:
        return None
    try:
        return FaultRecord.model_validate(raw)
    except ValidationError:  # written by another version: nothing to heal by it
        return None


async def end_faults(
    state: StateDir, processes: ProcessTable, within: float, events: EventSink
) -> list[FaultRecord]:
    """Stop the keeper, resume what a pause stopped, and discard the book (``ecert down``).

    Killed nodes and a stopped broker stay down: ``down`` stops the rest. Node-held faults end
    with their processes.
    """
    await processes.stop([KEEPER], within)
    records = FaultBook(state).discard()
    for record in records:
        if record.spec.kind is FaultKind.PAUSE and record.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.pid, signal.SIGCONT)
        events.emit(
            "fault.healed",
            node=record.spec.node,
            fault=record.id,
            kind=record.spec.kind,
            reason="down",
        )
    return records
