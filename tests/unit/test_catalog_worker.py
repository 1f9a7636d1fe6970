"""Big groups are validated in a real worker process: the same verdicts as inline, a worker
that dies is replaced without losing the group, and a node killed with SIGKILL leaves no
worker behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import orjson
import pytest

from nodes.catalog import validate as v
from nodes.catalog.ingest import Incoming, Prepared, prepare_batches
from nodes.catalog.worker import INLINE_ROWS, ValidationWorker
from nodes.store.catalog import e1_row
from tests.unit.test_catalog_support import make_row, topology

TODAY = "2026-01-01"
HARBIN = v.sender_of(topology(), "hlj-harbin")
CHILDREN = {"hlj-harbin": HARBIN}
DEADLINE = 30.0
ROOT = Path(__file__).resolve().parents[2]


def group(rows: int) -> list[Incoming]:
    """Two batches of valid rows with a few broken ones, fresh dicts each call."""
    batches = []
    for number in (1, 2):
        data = [make_row(number * 10_000 + serial) for serial in range(rows // 2)]
        data[3]["data_source"] = "106"
        data[5]["issue_date"] = "2020年1月2日"  # valid once normalised
        data[7] = {**data[7], "certificate_number": 12345}  # type: ignore[dict-item]
        batches.append(Incoming(HARBIN, f"hlj-harbin-{number}", [*data, ["not", "a", "row"]]))
    return batches


def plain(items: Sequence[object]) -> list[object]:
    """Prepared batches as comparable values (rows come back from the worker as lists)."""
    return [
        (p.sender, p.cd_batch, p.rows, [tuple(row) for row in p.valid], p.anomalies)
        if isinstance(p, Prepared)
        else p
        for p in items
    ]


def body(incoming: Incoming) -> bytes:
    """The message a child publishes for ``incoming``."""
    sender, batch = incoming.sender.node_id, incoming.cd_batch
    return orjson.dumps({"cd_batch": batch, "from": sender, "rows": incoming.rows})


def gone(pid: int) -> bool:
    """Whether process ``pid`` ends within the deadline."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
async def worker() -> AsyncIterator[ValidationWorker]:
    validation = ValidationWorker("hlj", CHILDREN)
    yield validation
    validation.close()


async def test_a_big_group_gets_the_verdicts_it_gets_inline(worker: ValidationWorker) -> None:
    size = 2 * INLINE_ROWS
    judged = await worker.prepare([*group(size)], TODAY)
    assert await worker.pid() != os.getpid()
    assert plain(judged) == plain(prepare_batches(group(size), today=TODAY))
    first = judged[0]
    assert isinstance(first, Prepared)
    assert (first.sender, first.cd_batch, first.rows) == (HARBIN, "hlj-harbin-1", size // 2 + 1)
    valid = [e1_row(values) for values in first.valid]
    assert len(valid) == size // 2 - 1
    assert {values[-1] for values in first.valid} == {"hlj-harbin"}  # the via_node
    assert valid[4]["issue_date"] == "2020-01-02"
    assert valid[6]["certificate_number"] == "12345"
    assert {a["error_remark"] for a in first.anomalies} == {v.FOREIGN_DATA_SOURCE, v.MALFORMED_ROW}
    assert all(row["cd_batch"] == "hlj-harbin-1" for row in valid + first.anomalies)


async def test_message_bodies_are_decoded_in_the_worker(worker: ValidationWorker) -> None:
    batch, other = group(2 * INLINE_ROWS)
    stored = {"from": "hlj-harbin", "anomalies_stored": "hlj-7"}
    stranger = {"from": "jl-changchun", "cd_batch": "jl-changchun-1", "rows": []}
    bodies = [body(batch), b"\xffnot json", orjson.dumps(stored), orjson.dumps(stranger)]
    judged = await worker.prepare([*bodies, other], TODAY)
    assert plain(judged[:1]) == plain(prepare_batches(group(2 * INLINE_ROWS), today=TODAY)[:1])
    assert [item.payload for item in judged[1:4]] == [None, stored, stranger]  # type: ignore[union-attr]
    assert isinstance(judged[4], Prepared)
    assert judged[4].cd_batch == "hlj-harbin-2"


async def test_a_killed_worker_is_replaced_and_its_group_still_judged(
    worker: ValidationWorker,
) -> None:
    first = await worker.pid()
    os.kill(first, signal.SIGKILL)
    assert await asyncio.to_thread(gone, first)
    size = 2 * INLINE_ROWS
    judged = await worker.prepare([*group(size)], TODAY)  # the broken pool: judged in a thread
    assert plain(judged) == plain(prepare_batches(group(size), today=TODAY))
    assert await worker.pid() not in (first, os.getpid())


_NODE = """
import asyncio, os, sys
from pathlib import Path
from nodes.catalog.worker import ValidationWorker

async def main():
    worker = ValidationWorker("hlj", {})  # held: a pool collected as garbage stops its worker
    Path(sys.argv[1]).write_text(str(await worker.pid()))
    os.kill(os.getpid(), 9)

asyncio.run(main())
"""


def test_a_node_killed_with_sigkill_leaves_no_worker(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    node = subprocess.run(  # no pipes: a surviving worker would hold them open
        [sys.executable, "-c", _NODE, str(pid_file)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=DEADLINE,
        check=False,
    )
    assert node.returncode == -signal.SIGKILL
    assert gone(int(pid_file.read_text()))
