"""The event stream of a network of real processes, read with ``ecert events``: a cross-province
call node by node in route order, batches flowing up and anomalies down, faults as they happen."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.control.events import EventFilter, Record, wait_for_events
from tests.e2e.fault_support import CROSS_ROUTE, ENTRY, OWNER, Lab, start_lab_network
from tests.e2e.harness import PROJECT_ROOT, Network
from tests.e2e.test_launcher import ecert
from tests.unit.test_catalog_support import make_row

FOLLOW_WITHIN = 30.0  # seconds for ``ecert events --follow`` to print what it waits for


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    yield from start_lab_network(tmp_path_factory)


@pytest.fixture
async def lab(network: Network) -> AsyncIterator[Lab]:
    lab = await Lab.of(network)
    try:
        yield lab
    finally:
        await lab.restore()


def events_cli(lab: Lab, *args: str) -> list[Record]:
    done = ecert("events", "--state-dir", str(lab.net.state.root), "--json", *args,
                 cwd=lab.net.state.root.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


async def test_a_cross_province_call_is_told_node_by_node_in_route_order(lab: Lab) -> None:
    result = await lab.lookup()
    assert result.route == CROSS_ROUTE
    await lab.events_of(result.request_id, "request.handled", len(CROSS_ROUTE))
    records = events_cli(lab, "--request-id", result.request_id)
    steps = [(record["node"], record["event"]) for record in records]
    expected = []
    for here, there in itertools.pairwise(CROSS_ROUTE):
        expected += [(here, "request.handled"), (here, "request.forwarded")]
        assert any(r.get("neighbour") == there for r in records if r["node"] == here)
    expected.append((OWNER, "request.handled"))
    assert steps == expected
    entry = records[0]
    assert (entry["method"], entry["status"], entry["route"]) == (
        "GetCertificateDataByCertificateID",
        0,
        CROSS_ROUTE,
    )
    assert [timing["node"] for timing in entry["timings"]] == CROSS_ROUTE
    assert all(r["outcome"] == "answered" for r in records if r["event"] == "request.forwarded")


async def test_a_batch_goes_up_and_its_anomaly_comes_down(lab: Lab) -> None:
    since = _now()
    source = lab.net.topology.node(ENTRY).data_source or ""
    bad = {**make_row(7001, data_source=source), "cd_operation": "Q"}  # not I, U or D
    await lab.net.admin(ENTRY, "POST", "/admin/faults/catalog-row", json=bad)
    [received] = await wait_for_events(
        lab.net.state, bool, EventFilter(node=ENTRY, event="anomaly.received", since=since)
    )
    assert received["anomalies"] == 1
    cd_batch = received["cd_batch"]
    steps = {
        (ENTRY, "batch.published"),
        ("p1", "batch.committed"),
        (ENTRY, "anomaly.received"),
        (ENTRY, "batch.acknowledged"),
    }

    def told(found: list[Record]) -> bool:
        return steps <= {(r["node"], r["event"]) for r in found if r.get("cd_batch") == cd_batch}

    story = await wait_for_events(lab.net.state, told, EventFilter(since=since))
    of_batch = [r for r in story if r.get("cd_batch") == cd_batch]
    first = {}
    for record in of_batch:
        first.setdefault((record["node"], record["event"]), record)
    order = [first[step]["ts"] for step in sorted(steps, key=lambda step: first[step]["ts"])]
    assert [step for step in first if step in steps] == [
        (ENTRY, "batch.published"),
        ("p1", "batch.committed"),
        (ENTRY, "anomaly.received"),
        (ENTRY, "batch.acknowledged"),
    ], order
    committed = first[("p1", "batch.committed")]
    assert (committed["child"], committed["anomalies"]) == (ENTRY, 1)


async def test_a_node_says_when_it_stops_and_starts(lab: Lab) -> None:
    since = _now()
    await lab.net.stop_node(OWNER)
    await lab.net.start_node(OWNER)
    story = await wait_for_events(
        lab.net.state,
        lambda found: [r["event"] for r in found] == ["node.stopped", "node.started"],
        EventFilter(node=OWNER, event="node.", since=since),
    )
    assert story[1]["pid"] == lab.net.pid(OWNER)


async def test_follow_prints_a_fault_as_it_is_applied(lab: Lab) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "ECERT_STATE_DIR": str(lab.net.state.root),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.control.cli", "events", "--follow", "--json",
        "--event", "fault.", "--since", _now(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        record = await lab.add(kind="slow", node=OWNER, delay_ms=10)
        line = await _line_with(process, record.id)
        assert (line["event"], line["node"], line["kind"]) == ("fault.applied", OWNER, "slow")
        await lab.faults.clear(record.id)
        healed = await _line_with(process, record.id)
        assert (healed["event"], healed["reason"]) == ("fault.healed", "cleared")
    finally:
        process.terminate()
        await process.wait()


async def _line_with(process: asyncio.subprocess.Process, fault_id: str) -> dict[str, Any]:
    assert process.stdout is not None
    async with asyncio.timeout(FOLLOW_WITHIN):
        while True:
            line = await process.stdout.readline()
            assert line, "ecert events --follow ended"
            record: dict[str, Any] = json.loads(line)
            if record.get("fault") == fault_id:
                return record


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
