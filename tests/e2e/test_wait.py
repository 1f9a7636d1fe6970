"""``ecert up --wait``, ``ecert wait``, ``ecert account create --rate-limit``: real processes.

``up --wait`` followed at once by a cross-province call answers 0 on every fresh network (the
demo's own push interval of 2 s, so the catalogs really are in flight when ``up`` is ready).
``ECERT_UP_WAIT_ROUNDS`` sets how many fresh networks (CI runs 3; by hand, 20).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.control.admin_client import AdminClient
from gateway.control.state import StateDir
from gateway.core.client import client_session
from gateway.core.protocol import ReturnCode
from gateway.core.topology import Topology, load_topology
from nodes.model.codes import CertificateStatus
from nodes.synth import generate
from tests.e2e.cli import ecert, stop_everything
from tests.e2e.harness import write_topology

ROUNDS = int(os.environ.get("ECERT_UP_WAIT_ROUNDS", "3"))
DEMO_INTERVAL = 2.0  # topology.yaml's exchange.interval
DEMO_SEED = 2836  # ``ecert up``'s default seed
ENTRY, OWNER = "hlj-harbin", "jl-changchun"
CROSS_PROVINCE = [ENTRY, "hlj", "national", "jl", OWNER]


def usable_certificate_id(topology: Topology, node_id: str) -> str:
    """A 正常 certificate of ``node_id`` that has not expired, known before the network starts
    (the synthetic data is a function of topology and seed)."""
    certificates = generate(topology, seed=DEMO_SEED)[node_id]
    return next(
        cert.CertificateID
        for cert in certificates
        if cert.CertificateStatus is CertificateStatus.NORMAL and not cert.CertificateExpiringDate
    )


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_up_wait_then_a_cross_province_call_answers_0(tmp_path: Path, round_: int) -> None:
    path = write_topology(tmp_path, shape="demo", interval=DEMO_INTERVAL)
    certificate_id = usable_certificate_id(load_topology(path), OWNER)
    state = tmp_path / "state"
    try:
        up = ecert("--state-dir", str(state), "up", str(path), "--wait", cwd=tmp_path)
        assert up.returncode == 0, up.stderr
        assert "has settled" in up.stdout
        call = ecert("--state-dir", str(state), "call", "--node", ENTRY, "--json",
                     "GetCertificateDataByCertificateID", f"CertificateID={certificate_id}",
                     "UseFor=办事", cwd=tmp_path)  # fmt: skip
    finally:
        ecert("--state-dir", str(state), "down", cwd=tmp_path)
        stop_everything(state)
    result = json.loads(call.stdout)
    assert (call.returncode, result["envelope"]["head"]["status"]) == (0, "0"), call.stdout
    assert result["route"] == CROSS_PROVINCE


# -- on one running network ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def settled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Topology]]:
    root = tmp_path_factory.mktemp("wait")
    path = write_topology(root, shape="demo", ack_timeout=1.0)
    state = root / "state"
    try:
        up = ecert("--state-dir", str(state), "up", str(path), "--per-node", "5", "--wait",
                   cwd=root)  # fmt: skip
        assert up.returncode == 0, up.stderr
        yield state, load_topology(path)
    finally:
        ecert("--state-dir", str(state), "down", cwd=root)
        stop_everything(state)


def run(state: Path, *args: str) -> tuple[int, str, str]:
    done = ecert("--state-dir", str(state), *args, cwd=state.parent)
    return done.returncode, done.stdout, done.stderr


def test_wait_on_a_settled_network_returns_at_once(settled: tuple[Path, Topology]) -> None:
    state, topology = settled
    code, out, _ = run(state, "wait")
    assert code == 0
    assert f"network {topology.network} has settled" in out


def test_wait_names_a_node_that_is_down_and_fails(settled: tuple[Path, Topology]) -> None:
    state, _ = settled
    assert run(state, "down", "--node", "jl-jilin")[0] == 0
    try:
        code, _, err = run(state, "wait", "--timeout", "0.5")
    finally:
        assert run(state, "up")[0] == 0
    assert code == 1
    assert "has not settled within 0.5 s" in err
    assert "jl-jilin: not healthy" in err
    assert "hlj-harbin" not in err
    assert run(state, "wait")[0] == 0


async def test_wait_names_rows_held_back_by_a_stopped_broker(
    settled: tuple[Path, Topology],
) -> None:
    state, topology = settled
    assert run(state, "down", "--broker")[0] == 0
    try:
        async with AdminClient(topology, StateDir(state), "hlj-harbin") as admin:
            [listed] = await admin.request("GET", "/admin/certificates?limit=1")
            record = await admin.request("GET", f"/admin/certificates/{listed['CertificateID']}")
            del record["CertificateID"]  # the node assigns a new one: a new certificate
            await admin.request("POST", "/admin/certificates", json=record)
        code, _, err = run(state, "wait", "--timeout", "0.5")
    finally:
        assert run(state, "up")[0] == 0
    assert code == 1
    assert "the broker: the embedded broker" in err
    assert "hlj-harbin: 1 catalog row(s) not yet acknowledged by hlj" in err
    assert run(state, "wait")[0] == 0


async def test_an_account_gets_the_rate_limit_it_was_created_with(
    settled: tuple[Path, Topology],
) -> None:
    state, topology = settled
    ip = "127.0.9.41"
    code, out, err = run(state, "account", "create", "--node", ENTRY, "--ip", ip,
                         "--rate-limit", "0.01", "--json")  # fmt: skip
    assert code == 0, err
    account = json.loads(out)
    assert account["rate_limit"] == 0.01
    url = f"{topology.node(ENTRY).url}{topology.path}"
    async with client_session(local_host=ip) as session:
        async with session.post(f"{url}/token", data={"AccountId": account["AccountId"]}) as got:
            token = (await got.json())["data"]["dataList"]
        credentials = {"AccountId": account["AccountId"], "AccessToken": token}
        codes = []
        for _ in range(2):  # a bucket of one request, refilled once in 100 s
            async with session.post(f"{url}/GetCertificateType", data=credentials) as answer:
                codes.append(int((await answer.json())["head"]["status"]))
    assert codes == [ReturnCode.SUCCESS, ReturnCode.TOO_FREQUENT]
    code, out, _ = run(state, "account", "create", "--node", ENTRY, "--ip", ip,
                       "--rate-limit", "500", "--json")  # fmt: skip
    assert (code, json.loads(out)["rate_limit"]) == (0, 500)


def test_a_rate_limit_that_is_not_a_positive_number_is_a_usage_error(
    settled: tuple[Path, Topology],
) -> None:
    state, _ = settled
    code, _, err = run(state, "account", "create", "--node", ENTRY, "--ip", "127.0.9.42",
                       "--rate-limit", "-3")  # fmt: skip
    assert code == 2
    assert "'-3' is not a positive number of requests/s" in err
