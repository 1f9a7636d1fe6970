"""The topology file is validated strictly (SPEC §8): every rule fails with the offending line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway.core.errors import TopologyError
from gateway.core.topology import Tier, load_topology, parse_topology
from tests.e2e.harness import DEMO_TOPOLOGY, demo_shape, provinces_shape, write_topology

# Each node entry starts on the line marked by its comment; tests edit this text line by line.
VALID = """\
network: unit
exchange:
  broker: embedded
  port: 18830
nodes:
  - id: national              # line 6
    tier: national
    name: 国家
    host: 127.0.2.10
    port: 8701
  - id: hlj                   # line 11
    tier: province
    parent: national
    name: 黑龙江
    area_code: "230000"
    host: 127.0.2.20
    port: 8701
  - id: hlj-harbin            # line 18
    tier: city
    parent: hlj
    name: 哈尔滨
    area_code: "230100"
    data_source: "101"
    host: 127.0.2.21
    port: 8701
  - id: hlj-qiqihar           # line 26
    tier: city
    parent: hlj
    name: 齐齐哈尔
    area_code: "230200"
    data_source: "102"
    host: 127.0.2.22
    port: 8701
"""


def edit(**lines: str) -> str:
    """VALID with whole lines replaced: ``edit(l20="    parent: nowhere")``."""
    text = VALID.splitlines()
    for key, value in lines.items():
        text[int(key[1:]) - 1] = value
    return "\n".join(text) + "\n"


def error_of(text: str) -> TopologyError:
    with pytest.raises(TopologyError) as caught:
        parse_topology(text, source="t.yaml")
    return caught.value


def test_the_valid_base_loads() -> None:
    topology = parse_topology(VALID)
    assert [node.id for node in topology.nodes] == ["national", "hlj", "hlj-harbin", "hlj-qiqihar"]


def test_an_unknown_node_key_names_its_line() -> None:
    error = error_of(edit(l30="    colour: blue"))
    assert error.line == 30
    assert "colour" in str(error)
    assert "hlj-qiqihar" in str(error)


def test_an_unknown_top_level_key_names_its_line() -> None:
    error = error_of(VALID.replace("network: unit\n", "network: unit\nflavour: x\n"))
    assert error.line == 2
    assert "flavour" in str(error)


def test_an_unknown_exchange_key_names_its_line() -> None:
    error = error_of(VALID.replace("  port: 18830\n", "  port: 18830\n  qos: 2\n"))
    assert error.line == 5
    assert "qos" in str(error)


def test_a_missing_parent_names_the_parent_line() -> None:
    error = error_of(edit(l20="    parent: nowhere"))
    assert error.line == 20
    assert error.node_id == "hlj-harbin"
    assert "'nowhere'" in str(error)


def test_a_cycle_is_reported_as_a_cycle_on_the_first_node_in_it() -> None:
    text = edit(l13="    parent: hlj-harbin")  # hlj -> hlj-harbin -> hlj
    error = error_of(text)
    assert "cycle" in str(error)
    assert error.line == 13
    assert error.node_id == "hlj"


def test_a_node_that_is_its_own_parent_is_a_cycle() -> None:
    error = error_of(edit(l20="    parent: hlj-harbin"))
    assert "cycle" in str(error)
    assert error.line == 20


def test_two_roots_name_the_second_root() -> None:
    error = error_of(edit(l19="    tier: national", l20="    # no parent"))
    assert "exactly one root" in str(error)
    assert error.line == 18
    assert error.node_id == "hlj-harbin"


def test_a_root_that_is_not_national_names_its_tier() -> None:
    text = VALID.replace("    tier: national\n", "    tier: province\n")
    error = error_of(text)
    assert error.line == 7
    assert "national" in str(error)


def test_a_parent_of_the_wrong_tier_names_the_parent_line() -> None:
    error = error_of(edit(l28="    parent: hlj-harbin"))  # a city under a city
    assert error.line == 28
    assert "city node cannot hang under a city" in str(error)


@pytest.mark.parametrize(
    ("tier", "parent"),
    [("ministry", "hlj"), ("province", "hlj"), ("city", "national"), ("department", "national")],
)
def test_every_tier_rule_is_enforced(tier: str, parent: str) -> None:
    error = error_of(edit(l27=f"    tier: {tier}", l28=f"    parent: {parent}"))
    assert error.line == 28
    assert "cannot hang under" in str(error)


def test_a_department_may_hang_under_a_city_or_a_province() -> None:
    for parent, source in (("hlj", "002"), ("hlj-harbin", "102")):
        text = edit(
            l27="    tier: department",
            l28=f"    parent: {parent}",
            l31=f'    data_source: "{source}"',
        )
        assert parse_topology(text).node("hlj-qiqihar").tier is Tier.DEPARTMENT


def test_an_area_code_not_in_gbt_2260_names_its_line() -> None:
    error = error_of(edit(l30='    area_code: "160100"'))
    assert "'160100' is not a GB/T 2260 area code" in str(error)
    assert error.line == 30
    assert error.node_id == "hlj-qiqihar"


def test_a_city_outside_its_province_names_its_area_code_line() -> None:
    error = error_of(edit(l30='    area_code: "220100"'))
    assert "outside its province 'hlj'" in str(error)
    assert error.line == 30


def test_a_province_needs_a_province_level_code() -> None:
    error = error_of(edit(l15='    area_code: "230100"'))
    assert "not a province-level code" in str(error)
    assert error.line == 15


def test_a_city_data_source_starts_with_1_per_a3() -> None:
    error = error_of(edit(l31='    data_source: "002"'))
    assert "a city's starts with 1 (A.3)" in str(error)
    assert error.line == 31


def test_a_provincial_department_data_source_starts_with_0_per_a3() -> None:
    error = error_of(edit(l27="    tier: department", l28="    parent: hlj"))
    assert "a provincial department's starts with 0 (A.3)" in str(error)
    assert error.line == 31


def test_a_duplicate_id_names_the_second_occurrence() -> None:
    error = error_of(edit(l26="  - id: hlj-harbin"))
    assert "duplicate node id" in str(error)
    assert error.line == 26


def test_a_duplicate_host_and_port_names_the_second_node() -> None:
    error = error_of(edit(l32="    host: 127.0.2.21"))
    assert "127.0.2.21:8701" in str(error)
    assert error.line == 33
    assert error.node_id == "hlj-qiqihar"


def test_the_same_port_on_different_hosts_is_fine() -> None:
    topology = parse_topology(VALID)
    assert {node.port for node in topology.nodes} == {8701}


def test_a_duplicate_data_source_inside_a_province_names_the_second_node() -> None:
    error = error_of(edit(l31='    data_source: "101"'))
    assert "data_source '101'" in str(error)
    assert error.line == 31


def test_the_same_data_source_in_two_provinces_is_fine() -> None:
    topology = load_topology(DEMO_TOPOLOGY)
    harbin, changchun = topology.node("hlj-harbin"), topology.node("jl-changchun")
    assert harbin.data_source == changchun.data_source == "101"


def test_not_yaml_names_the_line() -> None:
    error = error_of(VALID + "  - id: [unclosed\n")
    assert error.line is not None
    assert "not valid YAML" in str(error)


def test_a_missing_file_is_a_topology_error(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read"):
        load_topology(tmp_path / "absent.yaml")


def test_the_demo_file_loads_with_ten_nodes_on_their_own_addresses() -> None:
    topology = load_topology(DEMO_TOPOLOGY)
    assert topology.root().id == "national"
    assert len(topology.nodes) == 10
    assert len({node.host for node in topology.nodes}) == 10
    assert [n.id for n in topology.children("hlj")] == [
        "hlj-harbin",
        "hlj-qiqihar",
        "hlj-daqing",
        "hlj-amr",
    ]


# -- generated topologies (tests/e2e/harness.py) ---------------------------------------------------
def test_a_generated_demo_topology_keeps_the_demo_tree(tmp_path: Path) -> None:
    topology = load_topology(write_topology(tmp_path))
    demo = load_topology(DEMO_TOPOLOGY)
    assert [(n.id, n.tier, n.parent, n.area_code, n.data_source) for n in topology.nodes] == [
        (n.id, n.tier, n.parent, n.area_code, n.data_source) for n in demo.nodes
    ]
    assert topology.exchange.interval == 0.3


def test_generated_addresses_are_distinct_loopback_outside_the_fixed_ranges(
    tmp_path: Path,
) -> None:
    topology = load_topology(write_topology(tmp_path))
    hosts = [node.host for node in topology.nodes] + [topology.exchange.host]
    assert len(set(hosts)) == len(hosts)
    for host in hosts:
        first, second, _, last = (int(part) for part in host.split("."))
        assert first == 127
        assert 3 <= second <= 254
        assert last not in (0, 255)
    assert all(node.port > 0 for node in topology.nodes)


def test_two_generated_networks_differ_in_name_and_addresses(tmp_path: Path) -> None:
    one = load_topology(write_topology(tmp_path, filename="one.yaml"))
    two = load_topology(write_topology(tmp_path, filename="two.yaml"))
    assert one.network != two.network
    assert {n.host for n in one.nodes}.isdisjoint({n.host for n in two.nodes})


def test_a_generated_topology_can_name_an_external_broker(tmp_path: Path) -> None:
    path = write_topology(tmp_path, broker="mqtt://127.0.0.1:1884", network="ext")
    topology = load_topology(path)
    assert topology.network == "ext"
    assert (topology.exchange.broker_host, topology.exchange.broker_port) == ("127.0.0.1", 1884)
    assert "host" not in yaml.safe_load(path.read_text())["exchange"]


def test_a_dict_shape_gets_unique_data_sources_per_province(tmp_path: Path) -> None:
    shape = provinces_shape(3, 2, departments_per_city=2, ministry=True)
    topology = load_topology(write_topology(tmp_path, shape=shape))
    assert len(topology.nodes) == 1 + 1 + 3 * (1 + 2 * 3)
    assert topology.node("p2-c1-d2").parent == "p2-c1"
    assert topology.province_of("p3-c2-d1") == topology.node("p3")
    sources = [n.data_source for n in topology.subtree("p1") if n.data_source]
    assert len(sources) == len(set(sources)) == 6


def test_a_dict_shape_keeps_what_it_names(tmp_path: Path) -> None:
    shape = demo_shape()
    shape["hlj-amr"]["name"] = "市场监管"
    topology = load_topology(write_topology(tmp_path, shape=shape))
    assert topology.node("hlj-amr").name == "市场监管"
    assert topology.node("hlj-amr").data_source == "001"


def test_a_dict_shape_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        write_topology(tmp_path, shape={"national": {"tier": "national", "colour": "red"}})


def test_a_generated_topology_can_have_the_network_start_mosquitto(tmp_path: Path) -> None:
    topology = load_topology(write_topology(tmp_path, broker="mosquitto", network="mq"))
    exchange = topology.exchange
    assert exchange.launched
    assert (exchange.broker_host, exchange.broker_port) == (exchange.host, exchange.port)
    assert not load_topology(
        write_topology(tmp_path, broker="mqtt://127.0.0.1:1884")
    ).exchange.launched
