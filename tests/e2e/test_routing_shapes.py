"""Routing on a generated network: three provinces, departments under cities, a four-level tree;
and what happens when an owner dies or hangs (30 within the deadline, 31 for a fan-out).

One network serves the module; the fault tests come last and leave every node running again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.e2e.harness import (
    PROJECT_ROOT,
    Network,
    Shape,
    network_in_background,
    write_topology,
)
from tests.e2e.routing_support import (
    Apps,
    Inventory,
    assert_by_id_reaches_every_owner,
    holder_route,
    items,
    take_inventory,
    tree_path,
    wait_aggregated,
)

SHAPE: Shape = {
    "national": {"tier": "national"},
    "p1": {"tier": "province", "parent": "national", "area_code": "230000"},
    "p1-c1": {"tier": "city", "parent": "p1", "area_code": "230100"},
    "p1-c1-d1": {"tier": "department", "parent": "p1-c1", "area_code": "230100"},
    "p1-c2": {"tier": "city", "parent": "p1", "area_code": "230200"},
    "p2": {"tier": "province", "parent": "national", "area_code": "220000"},
    "p2-c1": {"tier": "city", "parent": "p2", "area_code": "220100"},
    "p2-c1-d1": {"tier": "department", "parent": "p2-c1", "area_code": "220100"},
    "p3": {"tier": "province", "parent": "national", "area_code": "320000"},
    "p3-c1": {"tier": "city", "parent": "p3", "area_code": "320100"},
}


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Network, Inventory]]:
    tmp = tmp_path_factory.mktemp("routing-shapes")
    with network_in_background(write_topology(tmp, shape=SHAPE), tmp / "state") as net:
        asyncio.run(wait_aggregated(net))
        yield net, asyncio.run(take_inventory(net))


async def test_by_id_from_every_entry_reaches_every_owner(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    assert {"p1-c1-d1", "p2-c1-d1", "p3-c1"} <= set(inventory.usable), inventory.usable.keys()
    await assert_by_id_reaches_every_owner(net, inventory)


async def test_the_longest_path_crosses_six_hops(network: tuple[Network, Inventory]) -> None:
    net, inventory = network
    record = inventory.usable["p2-c1-d1"]
    async with Apps(net) as apps:
        result = await apps.call(
            "p1-c1-d1",
            "GetCertificateFileByCertificateID",
            {"CertificateID": record["CertificateID"]},
        )
        caller = await apps.at("p1-c1-d1")
        (item,) = items(result)
        status, body, _ = await caller.download(item["fileUrl"])
    assert result.route == ["p1-c1-d1", "p1-c1", "p1", "national", "p2", "p2-c1", "p2-c1-d1"]
    assert (status, body[:2]) == (200, b"PK")


def _spread(net: Network, inventory: Inventory) -> tuple[str, str, set[str], str]:
    """A (holder, type) held in two provinces, and a city of a province holding none of it."""
    topology = net.topology
    for holder, type_code, owners in inventory.shared():
        provinces = {p.id for o in owners if (p := topology.province_of(o)) is not None}
        if len(provinces) < 2:
            continue
        for node in topology.nodes:
            province = topology.province_of(node.id)
            if node.tier == "city" and province is not None and province.id not in provinces:
                return holder, type_code, owners, node.id
    raise AssertionError("no holder with one type in two provinces and a third province free")


async def test_by_holder_from_a_third_province_fans_out_to_both(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    holder, type_code, owners, entry = _spread(net, inventory)
    query = {"CertificateHolderCode": holder, "CertificateTypeCode": type_code}
    async with Apps(net) as apps:
        result = await apps.call(entry, "GetCertificateDataByHolder", query)
    assert result.status == 0, result.envelope
    assert result.route == holder_route(net.topology, entry, owners)
    assert owners <= set(result.route)
    assert {item["certificateHolderCode"] for item in items(result)} == {holder}


def _ecert(net: Network, *args: str) -> subprocess.CompletedProcess[str]:
    topology, state = str(net.state.topology_path), str(net.state.root)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.control.cli",
            *args,
            "--topology",
            topology,
            "--state-dir",
            state,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        check=False,
    )


def test_ecert_call_prints_the_envelope_route_and_hop_times(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    record = inventory.usable["p3-c1"]
    done = _ecert(
        net,
        "call",
        "--node",
        "p1-c2",
        "GetCertificateDataByCertificateID",
        f"CertificateID={record['CertificateID']}",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["envelope"]["head"]["status"] == "0"
    assert shown["route"] == ["p1-c2", "p1", "national", "p3", "p3-c1"]
    assert [hop["node"] for hop in shown["timings"]] == shown["route"]
    table = _ecert(
        net,
        "call",
        "--node",
        "p1-c2",
        "Retrieval",
        f"CertificateHolderCode={record['CertificateHolderCode']}",
    )
    assert table.returncode == 0, table.stderr
    assert "national" in table.stdout
    assert "接口调用成功" in table.stdout


def test_ecert_demo_shows_every_kind_of_route_on_a_running_network(
    network: tuple[Network, Inventory],
) -> None:
    net, _ = network
    done = _ecert(net, "demo")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "answered as expected" in done.stdout
    for showcase in (
        "local lookup",
        "inside the province",
        "across provinces",
        "verification",
        "retrieval from the highest catalog",
    ):
        assert showcase in done.stdout


# -- faults (last: they stop and start nodes) ------------------------------------------------------
async def test_a_killed_owner_is_30_within_the_deadline_and_answers_after_restart(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    owner, other = "p2-c1-d1", "p3-c1"
    wanted = {"CertificateID": inventory.usable[owner]["CertificateID"]}
    unaffected = {"CertificateID": inventory.usable[other]["CertificateID"]}
    async with Apps(net) as apps:
        await net.kill_node(owner)
        try:
            started = time.monotonic()
            lost = await apps.call(
                "p1-c1", "GetCertificateDataByCertificateID", wanted, deadline_ms=1500
            )
            elapsed = time.monotonic() - started
            fine = await apps.call("p1-c1", "GetCertificateDataByCertificateID", unaffected)
        finally:
            await net.start_node(owner)
            await net.wait_healthy(owner)
        back = await apps.call("p1-c1", "GetCertificateDataByCertificateID", wanted)
    assert lost.status == 30, lost.envelope
    assert lost.route == ["p1-c1", "p1", "national", "p2", "p2-c1"]
    assert elapsed < 1.5
    assert fine.status == 0
    assert back.status == 0, back.envelope
    assert back.route == tree_path(net.topology, "p1-c1", owner)


async def test_a_hung_owner_is_30_at_the_deadline_and_a_fan_out_is_31(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    holder, type_code, owners, entry = _spread(net, inventory)
    hung = sorted(owners)[0]
    if net.launcher.host_of(hung) is not None:  # SIGSTOP would hang its whole node host
        pytest.skip("the hung owner shares a node host; a pause is refused there")
    pid = net.pid(hung)
    assert pid is not None
    record = next(c for c in inventory.certificates[hung] if c["CertificateHolderCode"] == holder)
    query = {"CertificateHolderCode": holder, "CertificateTypeCode": type_code}
    async with Apps(net) as apps:
        await apps.at(entry)  # account and token first, while every node answers
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            single = await apps.call(
                entry,
                "GetCertificateDataByCertificateID",
                {"CertificateID": record["CertificateID"]},
                deadline_ms=800,
            )
            single_elapsed = time.monotonic() - started
            partial = await apps.call(entry, "GetCertificateDataByHolder", query, deadline_ms=800)
        finally:
            os.kill(pid, signal.SIGCONT)
        healed = await apps.call(entry, "GetCertificateDataByHolder", query)
    assert single.status == 30, single.envelope
    assert 0.5 < single_elapsed < 1.5
    assert partial.status == 31, partial.envelope
    assert items(partial)
    assert hung not in partial.route
    assert healed.status == 0
    assert len(items(healed)) > len(items(partial))


async def test_without_the_root_retrieval_answers_from_the_highest_reachable_catalog(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    record = inventory.usable["p1-c1-d1"]
    query = {"CertificateHolderCode": record["CertificateHolderCode"]}
    async with Apps(net) as apps:
        await apps.at("p1-c1-d1")
        await net.kill_node("national")
        try:
            fallback = await apps.call("p1-c1-d1", "Retrieval", query, deadline_ms=1500)
            types = await apps.call("p1-c1-d1", "GetCertificateType", {}, deadline_ms=1500)
        finally:
            await net.start_node("national")
            await net.wait_healthy("national")
        whole = await apps.call("p1-c1-d1", "Retrieval", query)
    assert fallback.status == 0, fallback.envelope
    assert fallback.route == ["p1-c1-d1", "p1-c1", "p1"]
    assert record["CertificateID"] in {item["certificateID"] for item in items(fallback)}
    assert types.status == 0, types.envelope
    assert types.route == ["p1-c1-d1", "p1-c1", "p1"]
    assert whole.route == ["p1-c1-d1", "p1-c1", "p1", "national"]
