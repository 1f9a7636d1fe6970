"""Validation of big catalog groups in a worker process beside the node (SPEC §6.2 c).

Validating a row is pure Python (~4 µs); storing it is SQLite's (~5–9 µs). In one process the
two take turns on the GIL whatever the threads, so a parent's ingest rate was their sum. Here a
worker process decodes and validates the next group on the other core while the node commits
the previous one. Big catalog messages reach it as the broker delivered them (the node never
decodes them) and come back as ``Prepared`` batches, their valid rows packed (``PackedRows``)
until the SQLite thread stores them. Groups of decoded messages below
``INLINE_ROWS`` are validated on the event loop (under ~1 ms): a single new certificate does
not wait for a process hop.

The process is started on the first big group, dies with its node (``PR_SET_PDEATHSIG``: a
node killed with SIGKILL leaves no orphan), and is started again when it breaks; the group it
broke on is validated in a thread meanwhile.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import marshal
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, overload

import orjson
import structlog

from gateway.core.exchange import decode_payload
from nodes.catalog.ingest import Incoming, Prepared, incoming_of, prepare_batch, prepare_batches
from nodes.catalog.push import catalog_message
from nodes.catalog.validate import Sender
from nodes.store.catalog import CatalogValues

log = structlog.get_logger()

INLINE_ROWS = 200  # smaller groups of decoded messages are validated on the event loop
PIPE_BYTES = 1 << 20  # the pipes to and from the worker (Linux's default limit for a process)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_F_SETPIPE_SZ = 1031  # <linux/fcntl.h>


@dataclass(frozen=True, slots=True)
class Unread:
    """A message body that is not a batch from a child: its payload, None when not an object."""

    payload: dict[str, Any] | None
    reason: str


class ValidationWorker:
    """Validates groups of catalog messages: inline when small, else in the worker process.

    A group holds decoded batches (``Incoming``) and message bodies not decoded yet (bytes).
    """

    def __init__(self, node_id: str, children: Mapping[str, Sender], *, forward: bool = False):
        self.node_id = node_id
        self.children = dict(children)
        self.forward = forward  # the node forwards what it ingests: make the bundles here too
        self._pool: ProcessPoolExecutor | None = None

    async def prepare(
        self,
        group: list[Incoming | bytes],
        today: str,
        *,
        type_codes: frozenset[str] | None = None,
    ) -> list[Prepared | Unread]:
        """Each message of ``group`` validated, in order; ``type_codes``: the type catalogue
        the rows' certificate_type_code must be in (None: not checked)."""
        children = self.children
        if type_codes is not None:
            children = {c: replace(s, type_codes=type_codes) for c, s in children.items()}
            group = [_with_sender(item, children) for item in group]
        decoded = [item for item in group if isinstance(item, Incoming)]
        if len(decoded) == len(group) and sum(len(i.rows) for i in decoded) < INLINE_ROWS:
            return list(prepare_batches(decoded, today=today))
        bodies = [item if isinstance(item, bytes) else _body(item) for item in group]
        loop = asyncio.get_running_loop()
        try:
            items = await loop.run_in_executor(
                self._started(), _prepare_and_ship, bodies, children, today, self.forward
            )
        except (BrokenExecutor, OSError) as exc:  # killed, or could not start: next time anew
            log.warning("catalog.validation_worker_failed", node=self.node_id, error=repr(exc))
            self.close()
            items = await asyncio.to_thread(prepare_bodies, bodies, children, today, self.forward)
        return [_with_digest(item, sent) for item, sent in zip(items, group, strict=True)]

    async def pid(self) -> int:
        """The worker process's id (starting it when needed)."""
        return await asyncio.get_running_loop().run_in_executor(self._started(), os.getpid)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                # not fork: the node has threads (SQLite, the loop's executor) mid-flight
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
            _widen_pipes(self._pool)
        return self._pool


class PackedRows(Sequence[CatalogValues]):
    """A batch's valid rows as the worker sent them (``marshal``), unpacked on first use.

    The first use is the catalog statement reading them in the SQLite thread, where the values
    are needed next: unpacked on the event loop they held the GIL ~1.5 ms a batch while that
    thread waited for it to bind the rows before, and they had to be unpacked all the same
    (measured: a parent's backlog ingest +5–15%). ``marshal`` over JSON: it unpacks these
    tuples of strings in half the time (1.2 against 2.3 µs a row); both ends are this
    interpreter, and what it reads comes from the node's own worker, never from the network.
    """

    __slots__ = ("_count", "_packed", "_rows")

    def __init__(self, packed: bytes, count: int):
        self._packed = packed
        self._count = count
        self._rows: list[CatalogValues] | None = None

    @classmethod
    def pack(cls, valid: Sequence[CatalogValues]) -> PackedRows:
        """``valid`` as ``prepare_batch`` makes them: a list of tuples of strings."""
        return cls(marshal.dumps(valid), len(valid))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> CatalogValues: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[CatalogValues]: ...
    def __getitem__(self, index: int | slice) -> CatalogValues | Sequence[CatalogValues]:
        return self._unpacked()[index]

    def __iter__(self) -> Iterator[CatalogValues]:
        return iter(self._unpacked())

    def _unpacked(self) -> list[CatalogValues]:
        if self._rows is None:
            self._rows = marshal.loads(self._packed)
            self._packed = b""
        return self._rows


def _with_sender(item: Incoming | bytes, children: Mapping[str, Sender]) -> Incoming | bytes:
    if isinstance(item, bytes) or item.sender.node_id not in children:
        return item
    return replace(item, sender=children[item.sender.node_id])


def _with_digest(item: Prepared | Unread, sent: Incoming | bytes) -> Prepared | Unread:
    """A batch decoded before keeps the digest of the message it came in (``_body`` drops it)."""
    if isinstance(item, Prepared) and isinstance(sent, Incoming):
        return replace(item, digest=sent.digest)
    return item


def _body(incoming: Incoming) -> bytes:
    rows = map(orjson.dumps, incoming.rows)
    return catalog_message(incoming.cd_batch, incoming.sender.node_id, rows)


def _widen_pipes(pool: ProcessPoolExecutor) -> None:
    """Give the pool's two pipes room for a whole step (~300 KB each way a batch).

    Through Linux's default 64 KiB a result crossed in ten writes, each waiting for the node's
    result thread to read the last one; with 1 MiB the worker goes on to the next step at once
    (measured: the ingest rate of a backlog +5%). ``ProcessPoolExecutor`` does not expose its
    queues, so this reaches for them and leaves the pipes as they are when it cannot.
    """
    for name in ("_call_queue", "_result_queue"):
        connection = getattr(getattr(pool, name, None), "_reader", None)
        if sys.platform != "linux" or connection is None:
            continue
        with suppress(OSError):  # over /proc/sys/fs/pipe-max-size: the default stays
            fcntl.fcntl(connection.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)


# -- in the worker process (or a thread, when it broke) -------------------------------------------
def prepare_bodies(
    bodies: list[bytes], children: Mapping[str, Sender], today: str, forward: bool
) -> list[Prepared | Unread]:
    """Decode each catalog message body and validate the batch it carries."""
    prepared: list[Prepared | Unread] = []
    for body in bodies:
        try:
            payload = decode_payload(body)
        except ValueError as exc:
            prepared.append(Unread(None, str(exc)))
            continue
        incoming = incoming_of(payload, children)
        if incoming is None:
            prepared.append(Unread(payload, "not a batch from a child of this node"))
            continue
        batch = prepare_batch(
            incoming.sender,
            incoming.cd_batch,
            incoming.rows,
            today=today,
            forward=forward,
            digest=incoming.digest,
        )
        prepared.append(batch)
    return prepared


def _prepare_and_ship(
    bodies: list[bytes], children: Mapping[str, Sender], today: str, forward: bool
) -> list[Prepared | Unread]:
    """``prepare_bodies`` with the valid rows packed for the way back."""
    return [
        replace(item, valid=PackedRows.pack(item.valid)) if isinstance(item, Prepared) else item
        for item in prepare_bodies(bodies, children, today, forward)
    ]


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when the node dies, however it dies."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the node died before the line above
        os._exit(0)
