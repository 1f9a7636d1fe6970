"""Networks packed into node hosts (several nodes per process, ``gateway.control.hosts``).

A node of a shared host is killed alone: the host's other nodes keep answering, the killed one
is down in ``ecert status`` with no pid, comes back in the same host, and has lost nothing it
had acknowledged; a host that dies takes its nodes down visibly and ``up`` brings them back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.control.app_client import AppCaller
from gateway.control.errors import FaultFailed
from gateway.control.faults import Faults, FaultSpec
from gateway.control.hosts import read_hosts
from gateway.control.settle import wait_settled
from tests.e2e.harness import Network, running_network, write_topology
from tests.e2e.test_demo_aggregation import resident_id_card

APP_IP = "127.2.9.9"
OWNER, VICTIM = "jl-changchun", "hlj-harbin"


@pytest.fixture(name="net")
async def net_fixture(tmp_path: Path) -> AsyncIterator[Network]:
    path = write_topology(tmp_path, shape="demo")
    async with running_network(path, tmp_path / "state", nodes_per_process=5) as net:
        yield net


async def by_id(net: Network, entry: str, certificate_id: str) -> tuple[int, list[str]]:
    async with AppCaller(net.topology, net.state, entry, from_ip=APP_IP) as app:
        params = {"CertificateID": certificate_id, "UseFor": "核验"}
        result = await app.call("GetCertificateDataByCertificateID", params)
    return result.status, result.route


async def test_the_demo_runs_in_two_hosts_of_five(net: Network) -> None:
    hosts = read_hosts(net.state)
    assert sorted(len(nodes) for nodes in hosts.values()) == [5, 5]
    pids = {status.id: status.pid for status in await net.status()}
    assert len(set(pids.values())) == 2  # every node shows its host's pid
    assert all(status.healthy for status in await net.status())


async def test_a_killed_node_of_a_shared_host_comes_back_alone_with_nothing_lost(
    net: Network,
) -> None:
    record = resident_id_card(701, area="220102")
    await net.issue(OWNER, record)
    await wait_settled(net.launcher, within=60)
    host = net.launcher.host_of(VICTIM)
    assert host is not None
    neighbours = [n for n in read_hosts(net.state)[host] if n != VICTIM]
    host_pid = net.pid(neighbours[0])
    # the victim's catalog knows the record (it reached national and came back as routes)
    assert await by_id(net, VICTIM, record["CertificateID"]) == (
        0,
        [VICTIM, "hlj", "national", "jl", OWNER],
    )

    await net.kill_node(VICTIM)
    statuses = {status.id: status for status in await net.status()}
    assert not statuses[VICTIM].alive
    assert not statuses[VICTIM].healthy
    assert statuses[VICTIM].pid is None
    for other in neighbours:  # the host lives on, and so do its other nodes
        assert statuses[other].healthy
        assert statuses[other].pid == host_pid
    status, route = await by_id(net, neighbours[0], record["CertificateID"])
    assert (status, route[-1]) == (0, OWNER)

    await net.start_node(VICTIM)
    assert net.pid(VICTIM) == host_pid  # back in the same host
    assert await by_id(net, VICTIM, record["CertificateID"]) == (
        0,
        [VICTIM, "hlj", "national", "jl", OWNER],
    )
    await wait_settled(net.launcher, within=60)


async def test_a_pause_of_a_node_in_a_shared_host_is_refused_saying_why(net: Network) -> None:
    faults = Faults(net.launcher)
    with pytest.raises(FaultFailed, match=r"shares its process .* --process-per-node"):
        await faults.add(FaultSpec(kind="pause", node=VICTIM))
    assert await faults.list() == []
    assert all(status.healthy for status in await net.status())


async def test_a_host_that_dies_takes_its_nodes_down_and_up_brings_them_back(
    net: Network,
) -> None:
    host = net.launcher.host_of(VICTIM)
    assert host is not None
    members = read_hosts(net.state)[host]
    assert await net.launcher.processes.kill(host, 10.0)  # SIGKILL, as a crash would
    statuses = {status.id: status for status in await net.status()}
    assert all(not statuses[n].alive and not statuses[n].healthy for n in members)
    assert all(statuses[n].healthy for n in statuses if n not in members)

    result = await net.launcher.up()
    assert sorted(result.started) == sorted(members)
    assert all(status.healthy for status in await net.status())
