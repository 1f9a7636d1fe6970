"""The pytest plugin (``ecert_network``): the README's example as a user runs it, the fixture's
helpers on a real network, the marker choosing another topology, and that an unused plugin
starts and imports nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gateway.control.errors import FaultInvalid
from gateway.control.testing import DEMO_TOPOLOGY, EcertNetwork
from gateway.core.client import client_session
from gateway.core.protocol import ReturnCode
from gateway.core.topology import load_topology
from tests.e2e.harness import PROJECT_ROOT

pytest_plugins = ["pytester"]

README_EXAMPLE = re.compile(
    r"<!-- the README example: tests/e2e/test_plugin.py runs this block -->\n```python\n(.*?)```",
    re.DOTALL,
)
OTHER_TOPOLOGY = Path(__file__).with_name("topologies") / "one_province.yaml"


def readme_example() -> str:
    match = README_EXAMPLE.search((PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))
    assert match is not None, "the README lost its pytest example"
    return match.group(1)


def test_the_readme_example_passes_as_a_user_runs_it(pytester: pytest.Pytester) -> None:
    example = readme_example()
    assert len(example.strip().splitlines()) <= 12  # "a ten-line test"
    pytester.makepyfile(test_readme=example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=600)
    result.assert_outcomes(passed=1)


def test_an_unused_plugin_imports_and_starts_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_the_plugin_is_loaded_and_nothing_of_it_ran(pytestconfig):
            assert pytestconfig.pluginmanager.hasplugin("ecert")
            assert "gateway.control.testing" not in sys.modules
            assert "gateway.control.launcher" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_packaged_demo_is_the_repository_topology() -> None:
    assert DEMO_TOPOLOGY.read_bytes() == (PROJECT_ROOT / "topology.yaml").read_bytes()


# -- on the session's demo network -----------------------------------------------------------------
def test_the_network_runs_on_fresh_addresses(ecert_network: EcertNetwork) -> None:
    demo = load_topology(PROJECT_ROOT / "topology.yaml")
    net = ecert_network
    assert [node.id for node in net.topology.nodes] == [node.id for node in demo.nodes]
    assert set(net.urls) == {node.id for node in demo.nodes}
    assert not set(net.urls.values()) & {node.url for node in demo.nodes}
    assert net.urls["hlj"] == net.url("hlj") == net.topology.node("hlj").url


def test_call_hands_back_envelope_route_and_timings(ecert_network: EcertNetwork) -> None:
    net = ecert_network
    cert = net.certificates("jl-jilin", usable=True)[0]
    result = net.call("hlj-daqing", "GetCertificateDataByCertificateID",
                      {"CertificateID": cert["CertificateID"]}, UseFor="核验")  # fmt: skip
    assert result.status == ReturnCode.SUCCESS, result.envelope
    assert result.route == ["hlj-daqing", "hlj", "national", "jl", "jl-jilin"]
    assert [node for node, _ in result.timings] == result.route
    assert result.data["dataList"][0]["certificateNumber"]
    plan = net.call("hlj-daqing", "GetCertificateDataByCertificateID",
                    CertificateID=cert["CertificateID"], UseFor="核验", explain=True)  # fmt: skip
    assert [entry["node"] for entry in plan.data["plan"]] == result.route


async def test_an_account_serves_the_applications_own_client(ecert_network: EcertNetwork) -> None:
    net = ecert_network
    account = net.account("jl-changchun", "127.0.9.61", rate_limit=200)
    assert (account.node, account.ip) == ("jl-changchun", "127.0.9.61")
    async with client_session(local_host=account.ip) as session:
        async with session.post(
            f"{account.url}/token", data={"AccountId": account.account_id}
        ) as r:
            token = (await r.json())["data"]["dataList"]
        body = {"AccountId": account.account_id, "AccessToken": token}
        async with session.post(f"{account.url}/GetCertificateType", data=body) as answer:
            assert (await answer.json())["head"]["status"] == "0"
            assert answer.headers["X-Ecert-Route"] == "jl-changchun,jl,national"
    async with (
        client_session(local_host="127.0.9.62") as session,  # another address: 14
        session.post(f"{account.url}/GetCertificateType", data=body) as answer,
    ):
        assert (await answer.json())["head"]["status"] == "14"


def test_fault_holds_a_fault_for_its_block_only(ecert_network: EcertNetwork) -> None:
    net = ecert_network
    cert = net.certificates("jl-jilin", usable=True)[0]
    params = {"CertificateID": cert["CertificateID"], "UseFor": "核验"}
    route = ["hlj-daqing", "hlj", "national", "jl", "jl-jilin"]
    with net.fault("cut", node="national", peer="jl", direction="out", from_ip="127.0.9.71"):
        hit = net.call("hlj-daqing", "GetCertificateDataByCertificateID", params,
                       from_ip="127.0.9.71")  # fmt: skip
        spared = net.call("hlj-daqing", "GetCertificateDataByCertificateID", params,
                          from_ip="127.0.9.72")  # fmt: skip
    assert (hit.status, hit.route) == (ReturnCode.CASCADE_UNREACHABLE, route[:3]), hit.envelope
    assert (spared.status, spared.route) == (ReturnCode.SUCCESS, route)
    healed = net.call("hlj-daqing", "GetCertificateDataByCertificateID", params,
                      from_ip="127.0.9.71")  # fmt: skip
    assert (healed.status, healed.route) == (ReturnCode.SUCCESS, route)
    assert net.admin("national", "GET", "/admin/faults")["faults"] == []


class BlockFailed(Exception):
    pass


def test_fault_kills_and_starts_a_node_again_even_when_the_block_fails(
    ecert_network: EcertNetwork,
) -> None:
    net = ecert_network
    seen: list[int | None] = []
    try:
        with net.fault("kill", node="hlj-amr") as killed:
            seen.append(net.launcher.node_pid(str(killed.spec.node)))
            raise BlockFailed
    except BlockFailed:
        pass
    assert seen == [None]  # dead inside the block
    assert net.launcher.node_pid("hlj-amr") is not None
    assert all(status.healthy for status in net.status())


def test_an_impossible_fault_is_refused_before_anything_changes(
    ecert_network: EcertNetwork,
) -> None:
    with (
        pytest.raises(FaultInvalid, match="not neighbours"),
        ecert_network.fault("cut", node="hlj-harbin", peer="jl"),
    ):
        pytest.fail("never entered")


# -- another topology, chosen by the marker --------------------------------------------------------
@pytest.mark.ecert_topology("topologies/one_province.yaml", per_node=3)
def test_the_marker_chooses_the_topology(ecert_network: EcertNetwork) -> None:
    net = ecert_network
    written = load_topology(OTHER_TOPOLOGY)
    assert net.topology.network == written.network
    assert net.url("p1-c1") != written.node("p1-c1").url  # moved onto fresh addresses
    assert len(net.certificates("p1-c2")) >= 3
    cert = net.certificates("p1-c2", usable=True)[0]
    result = net.call("p1-c1", "GetCertificateDataByCertificateID",
                      CertificateID=cert["CertificateID"], UseFor="核验")  # fmt: skip
    assert (result.status, result.route) == (0, ["p1-c1", "p1", "p1-c2"])


def test_a_marker_with_unknown_arguments_is_a_usage_error(pytester: pytest.Pytester) -> None:
    shutil.copyfile(OTHER_TOPOLOGY, pytester.path / "net.yaml")
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.ecert_topology("net.yaml", per_nodes=3)
        def test_it(ecert_network):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*ecert_topology takes a path and seed=, per_node=*"])
    assert result.ret != 0
