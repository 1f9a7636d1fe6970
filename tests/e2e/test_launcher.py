"""The ``ecert`` CLI and the launcher with real processes: up, status, accounts, certs, down.

One demo-shaped network (ten nodes and the embedded broker) started with ``ecert up`` is shared
by the module's CLI tests; a test that stops or kills a node brings it back before it ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.control.launcher import Launcher
from gateway.control.state import StateDir, is_alive
from gateway.core.topology import Topology, load_topology
from tests.brokers import BrokerProcess, mosquitto_broker_fixture  # noqa: F401
from tests.e2e.cli import ecert, stop_everything
from tests.e2e.harness import PROJECT_ROOT, provinces_shape, running_network, write_topology


@dataclass
class CliNetwork:
    topology_path: Path
    state_dir: Path
    topology: Topology
    up: subprocess.CompletedProcess[str]


def run(net: CliNetwork, *args: str) -> subprocess.CompletedProcess[str]:
    """``ecert --state-dir <the module's network> ARGS``."""
    return ecert("--state-dir", str(net.state_dir), *args, cwd=net.state_dir.parent)


def run_json(net: CliNetwork, *args: str) -> Any:
    done = run(net, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def status(net: CliNetwork) -> tuple[int, dict[str, Any]]:
    done = run(net, "status", "--json")
    return done.returncode, json.loads(done.stdout)


def by_node(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in report["nodes"]}


def _only_down(net: CliNetwork, node_id: str) -> dict[str, Any]:
    """``status`` fails and reports ``node_id`` unhealthy, every other node healthy."""
    code, report = status(net)
    nodes = by_node(report)
    assert code == 1
    assert nodes[node_id]["healthy"] is False
    assert all(n["healthy"] for name, n in nodes.items() if name != node_id)
    return report


@pytest.fixture(scope="module")
def cli_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliNetwork]:
    root = tmp_path_factory.mktemp("cli")
    path = write_topology(root, shape="demo")
    state_dir = root / "state"
    try:
        done = ecert("up", str(path), "--state-dir", str(state_dir), "--seed", "7",
                     "--per-node", "20", cwd=root)  # fmt: skip
        assert done.returncode == 0, f"ecert up failed:\n{done.stdout}\n{done.stderr}"
        yield CliNetwork(path, state_dir, load_topology(path), done)
    finally:
        ecert("down", "--state-dir", str(state_dir), cwd=root)
        stop_everything(state_dir)


def test_up_prints_a_table_of_the_nodes(cli_network: CliNetwork) -> None:
    out = cli_network.up.stdout
    assert f"network {cli_network.topology.network} is up" in out
    for node in cli_network.topology.nodes:
        assert node.id in out
        assert node.url in out


def test_every_node_is_healthy_and_holds_certificates(cli_network: CliNetwork) -> None:
    code, report = status(cli_network)
    assert code == 0, report
    nodes = by_node(report)
    assert set(nodes) == {node.id for node in cli_network.topology.nodes}
    assert all(node["healthy"] and node["alive"] and node["pid"] for node in nodes.values())
    assert report["broker"]["alive"]
    for city in ("hlj-harbin", "hlj-qiqihar", "jl-changchun"):
        assert nodes[city]["certificates"] > 0, nodes[city]


def test_the_state_is_readable_by_its_owner_only(cli_network: CliNetwork) -> None:
    run(cli_network, "call", "--node", "hlj-harbin", "GetCertificateType")  # an accounts file too
    found = [cli_network.state_dir, *cli_network.state_dir.rglob("*")]
    names = {path.name for path in found}
    assert {"node.db", "node.db-wal", "admin.key", "hlj.log", "broker.pid"} <= names
    assert "cli-accounts.json" in names
    for path in found:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"


def test_requests_aiohttp_rejects_get_an_envelope_and_one_json_log_line(
    cli_network: CliNetwork,
) -> None:
    node = cli_network.topology.node("hlj-harbin")
    for request in (
        f"GET /{'x' * 10_000} HTTP/1.1\r\nHost: a\r\n\r\n",
        f"POST /ecert/token HTTP/1.1\r\nHost: a\r\nX-Big: {'y' * 20_000}\r\n\r\n",
        "POST /ecert/token HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ):
        with socket.create_connection((node.host, node.port), timeout=10) as conn:
            conn.sendall(request.encode())
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b" 400 " in head.split(b"\r\n")[0]
        assert json.loads(body)["head"]["status"] == "15"
    lines = (cli_network.state_dir / "logs" / "hlj-harbin.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    rejected = [r for r in records if r.get("event") == "request.rejected_by_parser"]
    assert len(rejected) >= 3, records[-3:]
    assert not any("Traceback" in line for line in lines)


def test_status_table_shows_every_node(cli_network: CliNetwork) -> None:
    done = run(cli_network, "status")
    assert done.returncode == 0, done.stderr
    for node in cli_network.topology.nodes:
        assert node.id in done.stdout


def test_the_state_dir_can_come_from_the_environment(cli_network: CliNetwork) -> None:
    done = ecert(
        "status", "--json", cwd=cli_network.state_dir.parent, state_env=cli_network.state_dir
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["network"] == cli_network.topology.network


def test_up_again_says_so_and_starts_nothing(cli_network: CliNetwork) -> None:
    state = StateDir(cli_network.state_dir)
    before = {node.id: state.read_pid(node.id) for node in cli_network.topology.nodes}
    done = ecert("up", "--state-dir", str(cli_network.state_dir), cwd=cli_network.state_dir)
    assert done.returncode == 0, done.stderr
    assert "already up" in done.stdout
    assert {node.id: state.read_pid(node.id) for node in cli_network.topology.nodes} == before


def test_a_created_account_appears_in_the_list(cli_network: CliNetwork) -> None:
    net = cli_network
    record = run_json(net, "account", "create", "--node", "hlj-harbin", "--ip", "127.0.0.5")
    assert record["ip"] == "127.0.0.5"
    listed = run_json(net, "account", "list", "--node", "hlj-harbin")
    assert record["AccountId"] in {row["AccountId"] for row in listed}
    plain = run(net, "account", "create", "--node", "hlj-harbin", "--ip", "127.0.0.6")
    assert plain.returncode == 0, plain.stderr
    second = plain.stdout.strip()
    assert second not in ("", record["AccountId"])
    listed = run_json(net, "account", "list", "--node", "hlj-harbin")
    assert second in {row["AccountId"] for row in listed}


def test_a_disabled_account_is_listed_as_disabled(cli_network: CliNetwork) -> None:
    net = cli_network
    record = run_json(net, "account", "create", "--node", "jl", "--ip", "127.0.0.7")
    done = run(net, "account", "disable", "--node", "jl", record["AccountId"])
    assert done.returncode == 0, done.stderr
    listed = {row["AccountId"]: row for row in run_json(net, "account", "list", "--node", "jl")}
    assert listed[record["AccountId"]]["disabled"] is True


def test_certs_lists_the_nodes_real_certificates(cli_network: CliNetwork) -> None:
    rows = run_json(cli_network, "certs", "--node", "hlj-harbin")
    _, report = status(cli_network)
    assert len(rows) == by_node(report)["hlj-harbin"]["certificates"] > 0
    ids = [row["CertificateID"] for row in rows]
    assert len(set(ids)) == len(ids)
    for key in ("CertificateHolderCode", "CertificateTypeCode", "CertificateNumber"):
        assert all(row[key] for row in rows), key
    table = run(cli_network, "certs", "--node", "hlj-harbin")
    assert table.returncode == 0, table.stderr
    assert ids[0] in table.stdout


def test_a_killed_node_is_unhealthy_until_up_restarts_it(cli_network: CliNetwork) -> None:
    pid = StateDir(cli_network.state_dir).read_pid("hlj-daqing")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_dead(pid)
    _only_down(cli_network, "hlj-daqing")
    done = run(cli_network, "up")
    assert done.returncode == 0, done.stderr
    assert "started 1 node" in done.stdout
    assert status(cli_network)[0] == 0


@pytest.mark.parametrize(("how", "said"), [((), "stopped"), (("--kill",), "killed")])
def test_down_of_one_node_and_the_broker_then_up_brings_them_back(
    cli_network: CliNetwork, how: tuple[str, ...], said: str
) -> None:
    """What a CI pipeline does to test failures: stop (or crash) one node and the broker."""
    done = run(cli_network, "down", "--node", "hlj-daqing", "--broker", *how)
    assert done.returncode == 0, done.stderr
    assert f"{said} hlj-daqing, broker" in done.stdout
    report = _only_down(cli_network, "hlj-daqing")
    assert report["broker"]["alive"] is False
    done = run(cli_network, "up")
    assert done.returncode == 0, done.stderr
    assert "started 1 node(s), the broker" in done.stdout
    assert status(cli_network)[0] == 0


def test_down_of_an_unknown_node_stops_nothing_and_says_why(cli_network: CliNetwork) -> None:
    done = run(cli_network, "down", "--node", "hlj-daqing", "--node", "atlantis")
    assert done.returncode == 2
    assert "atlantis" in done.stderr
    assert "Traceback" not in done.stderr
    assert status(cli_network)[0] == 0  # hlj-daqing was not stopped either
    lone_kill = run(cli_network, "down", "--kill")
    assert lone_kill.returncode == 2
    assert "--kill needs --node" in lone_kill.stderr
    assert status(cli_network)[0] == 0


def test_admin_commands_against_a_stopped_node_fail_in_one_line(cli_network: CliNetwork) -> None:
    net = cli_network
    asyncio.run(Launcher.from_state(net.state_dir).stop_node("jl-jilin"))
    try:
        done = run(net, "certs", "--node", "jl-jilin")
        assert done.returncode == 1
        url = net.topology.node("jl-jilin").url
        assert done.stderr.splitlines() == [
            f"ecert: error: node jl-jilin is not running (nothing answers at {url})"
        ]
    finally:
        run(net, "up")
    assert status(net)[0] == 0


def test_an_unknown_node_is_a_usage_error(cli_network: CliNetwork) -> None:
    done = run(cli_network, "certs", "--node", "atlantis")
    assert done.returncode == 2
    assert "atlantis" in done.stderr
    assert "Traceback" not in done.stderr


def test_state_survives_down_and_up_and_down_leaves_no_process(cli_network: CliNetwork) -> None:
    net = cli_network
    _, before = status(net)
    certs_before = sorted(r["CertificateID"] for r in run_json(net, "certs", "--node", "hlj-amr"))
    pids = [node["pid"] for node in before["nodes"]] + [before["broker"]["pid"]]
    done = run(net, "down")
    assert done.returncode == 0, done.stderr
    assert not [pid for pid in pids if is_alive(pid)]
    assert StateDir(net.state_dir).pid_names() == []
    assert not [node.id for node in net.topology.nodes if _answers(node.host, node.port)]
    assert status(net)[0] == 1
    done = run(net, "up")
    assert done.returncode == 0, done.stderr
    code, after = status(net)
    assert code == 0
    counts = {n["id"]: n["certificates"] for n in after["nodes"]}
    assert counts == {n["id"]: n["certificates"] for n in before["nodes"]}
    certs_after = sorted(r["CertificateID"] for r in run_json(net, "certs", "--node", "hlj-amr"))
    assert certs_after == certs_before


# -- without the shared network -------------------------------------------------------------------
def test_an_invalid_topology_fails_in_one_line_naming_the_line(tmp_path: Path) -> None:
    path = write_topology(tmp_path)
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip() == "- id: hlj-daqing")
    lines.insert(index + 2, "  colour: blue")  # indented like the node's other keys
    path.write_text("\n".join(lines) + "\n")
    done = ecert("up", str(path), "--state-dir", str(tmp_path / "state"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"line {index + 3}" in done.stderr
    assert "colour" in done.stderr
    assert not (tmp_path / "state" / "run").exists()


def test_a_node_that_cannot_start_fails_up_with_its_log_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    path = write_topology(tmp_path, shape=provinces_shape(1, 1))
    blocked = load_topology(path).node("p1-c1")
    state = StateDir(tmp_path / "state")
    with socket.socket() as squatter:
        squatter.bind((blocked.host, blocked.port))
        squatter.listen()
        done = ecert(
            "up", str(path), "--state-dir", str(state.root), "--per-node", "5", cwd=tmp_path
        )
    assert done.returncode == 1
    first, *tail = done.stderr.splitlines()
    assert first.startswith("ecert: error: node p1-c1 ")
    assert str(state.log_path("p1-c1")) in first
    assert tail, "the failing node's log tail is shown"
    assert any('"node.bind_failed"' in line for line in tail), "one clear log line says why"
    assert not any("Traceback" in line for line in tail)
    assert state.pid_names() == []
    assert not _answers(
        load_topology(path).node("national").host, load_topology(path).node("national").port
    )


def test_down_without_a_network_says_so(tmp_path: Path) -> None:
    done = ecert("down", "--state-dir", str(tmp_path / "nothing"), cwd=tmp_path)
    assert done.returncode == 0
    assert "nothing to stop" in done.stdout


def test_foreground_up_stops_everything_on_sigterm(tmp_path: Path) -> None:
    path = write_topology(tmp_path, shape=provinces_shape(1, 1))
    state = StateDir(tmp_path / "state")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "gateway.control.cli", "up", str(path),
               "--state-dir", str(state.root), "--foreground", "--per-node", "5"]  # fmt: skip
    errors = tmp_path / "stderr.txt"
    with (
        errors.open("w") as stderr,
        subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        ) as process,
    ):
        try:
            assert process.stdout is not None
            for line in process.stdout:  # ends at EOF if the process dies
                if "Ctrl-C stops the network" in line:
                    break
            pids = [pid for name in state.pid_names() if (pid := state.read_pid(name))]
            assert len(pids) == 4, errors.read_text()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, errors.read_text()
            assert not [pid for pid in pids if is_alive(pid)]
            assert state.pid_names() == []
        finally:
            if process.poll() is None:
                process.kill()
            stop_everything(state.root)


async def test_running_network_restarts_nodes_and_the_broker(tmp_path: Path) -> None:
    path = write_topology(tmp_path, shape=provinces_shape(1, 2))
    async with running_network(path, tmp_path / "state", per_node=5) as net:
        status = await net.admin("p1", "GET", "/admin/status")
        assert status["node"] == "p1"
        await net.kill_node("p1-c1")
        assert not _answers(net.topology.node("p1-c1").host, net.topology.node("p1-c1").port)
        await net.start_node("p1-c1")
        assert (await net.admin("p1-c1", "GET", "/healthz"))["status"] == "ready"
        await net.stop_node("p1-c2")
        assert net.pid("p1-c2") is None
        await net.start_node("p1-c2")
        await net.wait_healthy("p1-c2", timeout=30)
        assert net.broker is not None
        old = net.launcher.broker_pid()
        await net.broker.restart()
        assert net.broker.running
        assert net.launcher.broker_pid() != old
        pids = [pid for node in net.topology.nodes if (pid := net.pid(node.id))]
    assert len(pids) == 4
    assert not [pid for pid in pids if is_alive(pid)]


@pytest.mark.mosquitto
async def test_an_external_broker_is_used_and_not_started(
    tmp_path: Path, mosquitto_broker: BrokerProcess
) -> None:
    path = write_topology(tmp_path, shape=provinces_shape(1, 1), broker=mosquitto_broker.url)
    async with running_network(path, tmp_path / "state", per_node=5) as net:
        assert net.broker is None
        assert net.launcher.broker_pid() is None
        assert all(node.healthy for node in await net.status())
        assert not net.state.pid_path("broker").exists()


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1.0).close()
    except OSError:
        return False
    return True


def _wait_dead(pid: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while is_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.05)
