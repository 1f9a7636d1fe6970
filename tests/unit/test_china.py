"""The GB/T 2260 code list and ``ecert topology china``: the real tree, loadable by ``ecert up``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from gateway.control.china import ChinaTree, china_topology
from gateway.control.cli.__main__ import main
from gateway.core import areas
from gateway.core.topology import Tier, Topology, load_topology, parse_topology


def generated(tree: ChinaTree) -> Topology:
    text = yaml.safe_dump(china_topology(tree), allow_unicode=True, sort_keys=False)
    return parse_topology(text)


def test_the_code_list_knows_every_level_and_refuses_what_is_not_a_code() -> None:
    assert areas.area_name("230000") == "黑龙江省"
    assert areas.area_name("232700") == "大兴安岭地区"
    assert areas.area_name("232701") == "漠河市"  # county level
    assert areas.area_name("441900") == "东莞市"
    assert not areas.is_area_code("160100")
    assert not areas.is_area_code("230199")


def test_the_code_list_has_31_mainland_provinces_and_333_prefecture_level_cities() -> None:
    provinces = [code for code in areas.provinces() if code < "700000"]
    assert len(provinces) == 31
    assert sum(len(areas.prefectures(code)) for code in provinces) == 333
    assert areas.prefectures("110000") == ()  # 北京市: districts, no prefecture-level city
    assert areas.prefecture_name("110105") is None
    assert areas.prefecture_name("230102") == "哈尔滨市"


def test_the_default_china_tree_is_the_real_one() -> None:
    topology = generated(ChinaTree())
    tiers = Counter(node.tier for node in topology.nodes)
    assert tiers == {
        Tier.NATIONAL: 1,
        Tier.MINISTRY: 4,
        Tier.PROVINCE: 31,
        Tier.CITY: 333,
        Tier.DEPARTMENT: 62,
    }
    harbin = topology.node("hlj-2301")
    assert (harbin.name, harbin.area_code, harbin.parent) == (
        "哈尔滨市电子证照共享系统",
        "230100",
        "hlj",
    )
    assert topology.node("bj").name == "北京市电子证照共享系统"
    assert topology.node("bj-ga").name == "北京市公安局电子证照系统"  # a municipality's 局
    assert topology.node("hlj-ga").name == "黑龙江省公安厅电子证照系统"
    for city in (node for node in topology.nodes if node.tier is Tier.CITY):
        province = topology.node(city.parent or "")
        assert city.area_code in areas.prefectures(province.area_code or "")
        assert (city.data_source or "").startswith("1")
    assert len({node.host for node in topology.nodes}) == len(topology.nodes)


def test_a3_data_sources_and_unique_codes_hold_with_city_departments() -> None:
    topology = generated(ChinaTree(city_departments=8))
    assert len(topology.nodes) > 3000
    for node in topology.nodes:
        parent = topology.parent(node.id)
        if node.tier is Tier.DEPARTMENT and parent is not None and parent.tier is Tier.PROVINCE:
            assert (node.data_source or "").startswith("0"), node.id
        if node.tier is Tier.DEPARTMENT and parent is not None and parent.tier is Tier.CITY:
            assert node.area_code == parent.area_code


def test_a_chosen_pair_of_provinces_makes_a_small_tree() -> None:
    topology = generated(ChinaTree(provinces=["hlj", "220000"], ministries=1, departments=1))
    assert [node.id for node in topology.children("national")] == ["mps", "jl", "hlj"]
    assert len(topology.children("hlj")) == 1 + 13
    assert len(topology.nodes) == 1 + 1 + 2 + 2 + 13 + 9


def test_an_unknown_province_or_too_many_departments_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown provinces"):
        china_topology(ChinaTree(provinces=["atlantis"]))
    with pytest.raises(ValueError, match="departments: between 0 and 10"):
        ChinaTree(departments=11)


def test_the_command_writes_a_file_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "china.yaml"
    assert (
        main(["topology", "china", "--provinces", "hlj", "--ministries", "0", "-o", str(path)]) == 0
    )
    topology = load_topology(path)
    assert len(topology.nodes) == 1 + 1 + 2 + 13
    assert "17 nodes" in capsys.readouterr().err
    assert main(["topology", "china", "--provinces", "nowhere"]) == 2
