"""Faults of processes on real networks: a node killed or paused, the broker down or restarted;
healed on time by the keeper (after the call that applied them returned) and by clear; the CLI
refusing bad faults; ``ecert down`` ending every fault and ``up`` bringing back none."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.control.admin_client import AdminClient
from gateway.control.errors import FaultFailed, FaultInvalid
from gateway.control.events import EventFilter, read_events, wait_for_events
from gateway.control.faults import FaultKind
from gateway.control.faults.processes import is_stopped
from gateway.control.launcher import Launcher
from gateway.control.state import KEEPER, StateDir, is_alive
from tests.e2e.fault_support import ENTRY, OWNER, Lab, eventually_ok, start_lab_network
from tests.e2e.harness import Network, provinces_shape, write_topology
from tests.e2e.test_launcher import ecert, stop_everything
from tests.service.certs import TEST_SEAL, make_certificate


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


def cli(lab: Lab, *args: str) -> tuple[int, str, str]:
    done = ecert("--state-dir", str(lab.net.state.root), *args, cwd=lab.net.state.root.parent)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def refuses_connections(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(5)
        return sock.connect_ex((host, port)) != 0


# -- kill -----------------------------------------------------------------------------------------
async def test_a_killed_node_answers_30_and_the_keeper_starts_it_again_on_time(lab: Lab) -> None:
    pid = lab.net.pid(OWNER)
    assert pid is not None
    killed = await lab.add(kind="kill", node=OWNER, for_seconds=2)
    assert lab.net.pid(OWNER) is None  # its process (or, in a shared host, the node) is gone
    if lab.net.launcher.host_of(OWNER) is None:
        assert not is_alive(pid)
    assert (await lab.lookup()).status == 30
    assert lab.net.launcher.processes.pid(KEEPER) is not None  # it outlives this call
    [healed] = await lab.healed(killed)
    assert (healed["by"], healed["reason"]) == ("keeper", "expired")
    assert lab.net.pid(OWNER) is not None
    if lab.net.launcher.host_of(OWNER) is None:
        assert lab.net.pid(OWNER) != pid  # a new process
    assert (await lab.lookup()).status == 0
    since = killed.applied_at.isoformat()
    wanted = EventFilter(node=OWNER, event="node.started", since=since)
    assert await wait_for_events(lab.net.state, bool, wanted)  # the new process said so


async def test_a_killed_node_is_started_again_by_clear(lab: Lab) -> None:
    killed = await lab.add(kind="kill", node=OWNER)
    assert (await lab.lookup()).status == 30
    assert killed.id in await lab.in_force()
    await lab.faults.clear(killed.id)
    assert lab.net.pid(OWNER) is not None
    assert (await lab.lookup()).status == 0


# -- pause ----------------------------------------------------------------------------------------
@pytest.fixture(name="pausable")
def pausable_fixture(lab: Lab) -> Lab:
    """A pause stops a whole process: in a packed network a node of a host refuses it (shown in
    tests/e2e/test_node_hosts.py), so these run where the owner has a process of its own."""
    if lab.net.launcher.host_of(OWNER) is not None:
        pytest.skip("the owner shares a node host; a pause is refused there")
    return lab


async def test_a_paused_node_misses_the_deadline_until_resumed_on_time(pausable: Lab) -> None:
    lab = pausable
    paused = await lab.add(kind="pause", node=OWNER, for_seconds=2)
    assert paused.pid is not None
    assert is_stopped(paused.pid)
    assert (await lab.lookup(deadline_ms=800)).status == 30
    await lab.healed(paused)
    assert not is_stopped(paused.pid)
    assert (await lab.lookup()).status == 0


async def test_a_paused_node_resumes_on_clear_and_refuses_other_faults_meanwhile(
    pausable: Lab,
) -> None:
    lab = pausable
    paused = await lab.add(kind="pause", node=OWNER)
    with pytest.raises(FaultFailed, match=f"paused by fault {paused.id}"):
        await lab.add(kind="error", node=OWNER)
    await lab.faults.clear(paused.id)
    assert (await lab.lookup()).status == 0


# -- the broker -----------------------------------------------------------------------------------
async def test_with_the_broker_down_nothing_is_acknowledged_until_it_is_back(lab: Lab) -> None:
    exchange = lab.net.topology.exchange
    down = await lab.add(kind="broker-down", for_seconds=2)
    assert refuses_connections(exchange.broker_host, exchange.broker_port)
    cert = make_certificate(501)
    await lab.net.admin(ENTRY, "POST", "/admin/seals", json=TEST_SEAL)
    await lab.net.admin(ENTRY, "POST", "/admin/certificates", json=cert.to_record())
    [healed] = await lab.healed(down)
    lab.usable["new"] = cert.to_record()
    await eventually_ok(lab, owner="new", entry="p2-c1")  # aggregated to national once back
    wanted = EventFilter(node=ENTRY, event="batch.acknowledged", since=down.applied_at.isoformat())
    acknowledged = await wait_for_events(lab.net.state, bool, wanted)
    assert all(event["ts"] > healed["ts"] for event in acknowledged)


async def test_the_broker_down_until_cleared_then_a_restart(lab: Lab) -> None:
    down = await lab.add(kind="broker-down")
    assert lab.net.launcher.broker_pid() is None
    await lab.faults.clear(down.id)
    before = lab.net.launcher.broker_pid()
    restart = await lab.add(kind="broker-restart")
    assert restart.id not in await lab.in_force()  # over at once
    assert lab.net.launcher.broker_pid() not in (None, before)
    cert = make_certificate(502)
    await lab.net.admin(ENTRY, "POST", "/admin/seals", json=TEST_SEAL)
    await lab.net.admin(ENTRY, "POST", "/admin/certificates", json=cert.to_record())
    lab.usable["new"] = cert.to_record()
    await eventually_ok(lab, owner="new", entry="p2-c1")


# -- bad faults -----------------------------------------------------------------------------------
async def test_faults_on_nodes_that_are_not_there_are_refused(lab: Lab) -> None:
    with pytest.raises(FaultInvalid, match="not neighbours"):
        await lab.add(kind="cut", node=ENTRY, peer="national")
    with pytest.raises(FaultInvalid, match="unknown node 'nowhere'"):
        await lab.add(kind="pause", node="nowhere")
    await lab.add(kind="kill", node=OWNER)
    with pytest.raises(FaultFailed, match=f"node {OWNER} is down"):
        await lab.add(kind="latency", node="p2", peer=OWNER, latency_ms=10)
    assert [record.spec.kind for record in await lab.faults.list()] == [FaultKind.KILL]


async def test_the_cli_says_what_is_wrong_with_exit_2_for_usage_and_1_for_the_network(
    lab: Lab,
) -> None:
    code, _, err = cli(lab, "fault", "add", "cut", "--node", ENTRY, "--peer", "p2")
    assert (code, err.count("\n")) == (2, 1)
    assert "p1-c1 and p2 are not neighbours" in err
    code, _, err = cli(lab, "fault", "add", "latency", "--node", ENTRY, "--peer", "p1")
    assert (code, err.strip()) == (2, "ecert: error: invalid fault: latency needs --latency")
    code, _, err = cli(lab, "fault", "add", "kill", "--node", "nowhere")
    assert code == 2
    assert "unknown node 'nowhere'" in err
    code, _, err = cli(lab, "fault", "clear", "f999")
    assert code == 1
    assert "no fault f999 is in force" in err
    await lab.add(kind="kill", node=OWNER)
    code, _, err = cli(lab, "fault", "add", "error", "--node", OWNER)
    assert code == 1
    assert f"node {OWNER} is down" in err


async def test_the_cli_lists_faults_with_their_time_left_and_clears_them(lab: Lab) -> None:
    code, out, _ = cli(lab, "fault", "add", "error", "--node", OWNER, "--from-ip", "127.0.9.5",
                       "--for", "10m", "--json")  # fmt: skip
    assert code == 0
    added = json.loads(out)
    assert added["spec"]["from_ip"] == "127.0.9.5"
    code, out, _ = cli(lab, "fault", "list", "--json")
    [listed] = json.loads(out)
    assert listed["id"] == added["id"]
    assert 500 < listed["time_left_s"] <= 600
    code, out, _ = cli(lab, "fault", "list")
    assert added["id"] in out
    assert f"{OWNER} answers 99, application 127.0.9.5 only" in out
    code, out, _ = cli(lab, "fault", "clear", "--all")
    assert code == 0
    assert out.startswith(f"fault {added['id']} healed: {OWNER} answers 99")
    assert await lab.in_force() == set()
    table = await lab.net.admin(OWNER, "GET", "/admin/faults")
    assert table["faults"] == []


# -- down ends every fault ------------------------------------------------------------------------
async def fault_tables(state: Path) -> dict[str, list[object]]:
    launcher = Launcher.from_state(state)
    tables = {}
    for node in launcher.topology.nodes:
        async with AdminClient(launcher.topology, launcher.state, node.id) as admin:
            tables[node.id] = (await admin.faults())["faults"]
    return tables


def test_down_ends_every_fault_and_the_next_up_brings_none_back(tmp_path: Path) -> None:
    shape = provinces_shape(1, 2)
    topology = write_topology(tmp_path, shape=shape)
    state = tmp_path / "state"

    def run(*args: str) -> str:
        done = ecert(*args, "--state-dir", str(state), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout

    try:
        run("up", str(topology), "--per-node", "4")
        run("fault", "add", "pause", "--node", "p1-c1")
        run("fault", "add", "kill", "--node", "p1-c2", "--for", "1h")  # the keeper waits for it
        run("fault", "add", "error", "--node", "p1")
        run("fault", "add", "cut", "--node", "p1", "--peer", "national")
        keeper = StateDir(state).read_pid(KEEPER)
        assert keeper is not None
        assert is_alive(keeper)
        run("down")
        assert not is_alive(keeper)
        assert StateDir(state).pid_names() == []
        run("up")
        assert json.loads(run("fault", "list", "--json")) == []
        assert "no faults in force" in run("fault", "list")
        assert all(node["healthy"] for node in json.loads(run("status", "--json"))["nodes"])
        assert asyncio.run(fault_tables(state)) == {node_id: [] for node_id in shape}
        healed = read_events(StateDir(state), EventFilter(event="fault.healed"))
        assert {event["reason"] for event in healed if event.get("by")} == {"down"}
    finally:
        ecert("down", "--state-dir", str(state), cwd=tmp_path)
        stop_everything(state)
