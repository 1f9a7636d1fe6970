"""Validation of big catalog groups in a worker process beside the node (SPEC §6.2 c).

Validating a row is pure Python (~5 µs); storing it is SQLite's (~6–9 µs). In one process the
two take turns on the GIL whatever the threads, so a parent's ingest rate was their sum. Here a
worker process judges the next group on the other core while the node commits the previous one;
it receives the rows as JSON and answers with a ``Judgement`` (positions and the few rewritten
rows), so that the node pays little for the trip. Groups below ``INLINE_ROWS`` are validated on
the event loop (under ~1 ms): a single new certificate does not wait for a process hop.

The process is started on the first big group, dies with its node (``PR_SET_PDEATHSIG``: a
node killed with SIGKILL leaves no orphan), and is started again when it breaks; the group it
broke on is validated in a thread meanwhile.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor

import orjson
import structlog

from nodes.catalog.ingest import Incoming, Prepared, prepare_batches
from nodes.catalog.validate import Judgement, Sender, judge_rows

log = structlog.get_logger()

INLINE_ROWS = 200  # smaller groups are validated on the event loop
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

Job = tuple[Sender, str, bytes]  # sender, cd_batch, the rows as JSON


class ValidationWorker:
    """Validates groups of incoming batches: inline when small, else in the worker process."""

    def __init__(self, node_id: str, *, inline_rows: int = INLINE_ROWS):
        self.node_id = node_id
        self.inline_rows = inline_rows
        self._pool: ProcessPoolExecutor | None = None

    async def prepare(self, group: list[Incoming], today: str) -> list[Prepared]:
        """Each batch of ``group`` with its verdict, as ``prepare_batches`` gives it."""
        if sum(len(incoming.rows) for incoming in group) < self.inline_rows:
            return prepare_batches(group, today=today)
        jobs: list[Job] = [(i.sender, i.cd_batch, orjson.dumps(i.rows)) for i in group]
        loop = asyncio.get_running_loop()
        try:
            judgements = await loop.run_in_executor(self._started(), judge_jobs, jobs, today)
        except (BrokenExecutor, OSError) as exc:  # killed, or could not start: next time anew
            log.warning("catalog.validation_worker_failed", node=self.node_id, error=repr(exc))
            self.close()
            return await asyncio.to_thread(prepare_batches, group, today=today)
        return [
            Prepared(incoming, judgement.verdict(incoming.rows, incoming.cd_batch))
            for incoming, judgement in zip(group, judgements, strict=True)
        ]

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
        return self._pool


# -- in the worker process ------------------------------------------------------------------------
def judge_jobs(jobs: list[Job], today: str) -> list[Judgement]:
    return [
        judge_rows(orjson.loads(rows), sender, today=today, cd_batch=cd_batch)
        for sender, cd_batch, rows in jobs
    ]


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when the node dies, however it dies."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the node died before the line above
        os._exit(0)
