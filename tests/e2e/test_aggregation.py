"""Catalog aggregation between real node processes, through crashes and outages (SPEC §6.3).

On a small generated network (national ← p1 ← p1-c1, p1-c2; national ← mot) with a 0.3 s push
interval: the national catalog holds every certificate of the network; then a child is killed
right after a commit, the province is killed while it ingests, stopped for a while, and the
broker restarts — and afterwards every committed row is in the national catalog exactly once,
with no step by hand. Runs against the embedded broker and against Mosquitto.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.brokers import BrokerProcess, free_port, start_mosquitto
from tests.e2e.harness import Network, provinces_shape, running_network, write_topology
from tests.unit.test_catalog_support import make_certificate, make_row

WITHIN = 90.0  # seconds for the network to converge on a slow, shared 2-core machine
ACK_TIMEOUT = 1.0
ROOT = "national"
SHAPE = provinces_shape(provinces=1, cities=2, ministry=True)


@asynccontextmanager
async def aggregating_network(tmp_path: Path, kind: str) -> AsyncIterator[tuple[Network, Any]]:
    """The network and a restartable broker handle (embedded: the launcher's; or Mosquitto)."""
    async with AsyncExitStack() as stack:
        broker_url = "embedded"
        mosquitto: BrokerProcess | None = None
        if kind == "mosquitto":
            mosquitto = stack.enter_context(start_mosquitto("127.0.0.1", free_port()))
            broker_url = mosquitto.url
        path = write_topology(
            tmp_path, shape=SHAPE, broker=broker_url, interval=0.3, ack_timeout=ACK_TIMEOUT
        )
        net = await stack.enter_async_context(running_network(path, tmp_path / "state"))
        yield net, mosquitto or net.broker


async def restart(broker: Any) -> None:
    if isinstance(broker, BrokerProcess):
        await asyncio.to_thread(broker.restart)
    else:
        await broker.restart()


async def certificate_ids(net: Network, node_id: str) -> set[str]:
    certificates = await net.admin(node_id, "GET", "/admin/certificates")
    return {cert["CertificateID"] for cert in certificates}


async def catalog_ids(net: Network, node_id: str) -> set[str]:
    body = await net.admin(node_id, "GET", "/admin/catalog?limit=1000000")
    return {row["certificate_source_id"] for row in body["rows"]}


async def expected_everywhere(net: Network) -> set[str]:
    found: set[str] = set()
    for node in net.topology.nodes:
        found |= await certificate_ids(net, node.id)
    return found


async def eventually(check: Callable[[], Awaitable[bool]], what: str, net: Network) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WITHIN
    while not await check():
        if loop.time() > deadline:
            statuses = [await net.admin(n.id, "GET", "/admin/status") for n in net.topology.nodes]
            raise AssertionError(f"not within {WITHIN} s: {what}\n{statuses}")
        await asyncio.sleep(0.2)


async def converged(net: Network, expected: set[str]) -> bool:
    if await catalog_ids(net, ROOT) != expected:
        return False
    for node in net.topology.nodes:
        if node.id != ROOT and (await net.admin(node.id, "GET", "/admin/status"))["outbox_pending"]:
            return False
    return True


async def issue(net: Network, node_id: str, serial: int, **changes: str) -> str:
    return await net.issue(node_id, make_certificate(serial, **changes).to_record())


@pytest.mark.parametrize(
    "kind", ["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)]
)
async def test_every_committed_row_reaches_national_once_through_faults(
    tmp_path: Path, kind: str
) -> None:
    async with aggregating_network(tmp_path, kind) as (net, broker):
        expected = await expected_everywhere(net)
        await eventually(lambda: converged(net, expected), "the seeded network converges", net)
        status = await net.admin(ROOT, "GET", "/admin/status")
        assert status["catalog_rows"] == len(expected)  # national: every certificate, once

        # a child dies right after committing a new certificate, before it could push
        expected.add(await issue(net, "p1-c1", 1))
        await net.kill_node("p1-c1")
        await net.start_node("p1-c1")

        # the province dies while it ingests a backlog of 2,000 rows
        source = net.topology.node("p1-c2").data_source or ""
        rows = [make_row(10_000 + i, area="230202", data_source=source) for i in range(2000)]
        for chunk in (rows[:1000], rows[1000:]):
            await net.admin("p1-c2", "POST", "/admin/faults/catalog-row", json={"rows": chunk})
        p1_pid = net.pid("p1")
        assert p1_pid is not None
        # batches this big are validated in p1's worker process: it is up, p1 is ingesting
        await eventually(lambda: _has_children(p1_pid), "p1 starts its validation worker", net)
        helpers = children_of(p1_pid)
        await net.kill_node("p1")
        if net.launcher.host_of("p1") is None:  # in a shared host, its workers are the host's
            await eventually(lambda: _none_alive(helpers), "p1's worker dies with p1", net)
        await net.start_node("p1")
        expected |= {row["certificate_source_id"] for row in rows}

        # the province is away for a while: the city publishes to nobody, then again
        await net.stop_node("p1")
        expected.add(await issue(net, "p1-c1", 2))
        await asyncio.sleep(2 * ACK_TIMEOUT)  # the outage itself: at least one resend happens
        await net.start_node("p1")

        # the broker restarts under traffic
        expected.add(await issue(net, "p1-c1", 3))
        await restart(broker)
        expected.add(await issue(net, "p1-c1", 4))

        await eventually(lambda: converged(net, expected), "every row reaches national", net)
        national = await net.admin(ROOT, "GET", "/admin/status")
        assert national["catalog_rows"] == len(expected)
        p1_subtree = set()
        for node_id in ("p1", "p1-c1", "p1-c2"):
            p1_subtree |= await certificate_ids(net, node_id)
        p1_subtree |= {row["certificate_source_id"] for row in rows}
        assert await catalog_ids(net, "p1") == p1_subtree
        for node in net.topology.nodes:
            assert (await net.admin(node.id, "GET", "/admin/status"))["open_anomalies"] == 0


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            if int(parent) == pid and state != "Z":
                found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def _none_alive(pids: list[int]) -> bool:
    return not any(await asyncio.to_thread(lambda: [_alive(pid) for pid in pids]))


async def _has_children(pid: int) -> bool:
    return bool(await asyncio.to_thread(children_of, pid))
