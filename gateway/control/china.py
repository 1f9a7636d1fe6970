"""``ecert topology china``: the real tree of sharing systems as a topology file (SPEC §1, §8).

National at the root; ministries under it; the 31 provinces (省级, GB/T 2260 codes and names) with
their provincial departments (省直部门, A.3 data source ``0xx``) and their 333 prefecture-level
cities (市地级, ``1xx``), each city optionally with departments of its own (市直部门, ``2xx``…).

Addresses are laid out in 127.0.0.0/8 so that every node has its own (IP binding stays real):
national and the ministries on 127.20.0.x, province *p* (1–31 in code order) on 127.(20+p).0.x
with its departments, its *c*-th city on 127.(20+p).c.1 and that city's departments beside it.
Every node listens on the same port; the embedded broker on 127.20.0.254.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.core.areas import area_name, prefectures
from gateway.core.topology import LAUNCHED_BROKERS

# id, GB/T 2260 code: the 31 provincial-level divisions of the mainland, in code order
PROVINCE_IDS: tuple[tuple[str, str], ...] = (
    ("bj", "110000"), ("tj", "120000"), ("heb", "130000"), ("sx", "140000"), ("nmg", "150000"),
    ("ln", "210000"), ("jl", "220000"), ("hlj", "230000"), ("sh", "310000"), ("js", "320000"),
    ("zj", "330000"), ("ah", "340000"), ("fj", "350000"), ("jx", "360000"), ("sd", "370000"),
    ("hen", "410000"), ("hub", "420000"), ("hun", "430000"), ("gd", "440000"), ("gx", "450000"),
    ("hi", "460000"), ("cq", "500000"), ("sc", "510000"), ("gz", "520000"), ("yn", "530000"),
    ("xz", "540000"), ("sn", "610000"), ("gs", "620000"), ("qh", "630000"), ("nx", "640000"),
    ("xj", "650000"),
)  # fmt: skip
MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})  # 直辖市: 局, not 厅
MINISTRIES: tuple[tuple[str, str], ...] = (
    ("mps", "公安部"), ("mot", "交通运输部"), ("mca", "民政部"), ("moe", "教育部"),
    ("mohrss", "人力资源和社会保障部"), ("samr", "国家市场监督管理总局"), ("mnr", "自然资源部"),
    ("mohurd", "住房和城乡建设部"), ("nhc", "国家卫生健康委员会"), ("mee", "生态环境部"),
)  # fmt: skip
# id suffix, the provincial department's name, a city's (or a municipality's) department's name
DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("amr", "市场监督管理局", "市场监督管理局"), ("ga", "公安厅", "公安局"),
    ("mz", "民政厅", "民政局"), ("rs", "人力资源和社会保障厅", "人力资源和社会保障局"),
    ("jt", "交通运输厅", "交通运输局"), ("wj", "卫生健康委员会", "卫生健康委员会"),
    ("jy", "教育厅", "教育局"), ("zr", "自然资源厅", "自然资源局"),
    ("zj", "住房和城乡建设厅", "住房和城乡建设局"), ("sthj", "生态环境厅", "生态环境局"),
)  # fmt: skip
SHARING = "电子证照共享系统"
BASE_OCTET = 20  # 127.20.x.x and up


@dataclass(frozen=True, slots=True)
class ChinaTree:
    """What to generate; ``provinces`` are ids or area codes (empty: all 31)."""

    provinces: Sequence[str] = ()
    ministries: int = 4
    departments: int = 2  # per province
    cities: bool = True
    city_departments: int = 0  # per city
    network: str = "china"
    port: int = 8701
    broker: str = "embedded"
    interval: float = 2.0

    def __post_init__(self) -> None:
        for label, count, most in (
            ("ministries", self.ministries, len(MINISTRIES)),
            ("departments", self.departments, len(DEPARTMENTS)),
            ("city departments", self.city_departments, len(DEPARTMENTS)),
        ):
            if not 0 <= count <= most:
                raise ValueError(f"{label}: between 0 and {most}, not {count}")


def chosen_provinces(wanted: Sequence[str]) -> list[tuple[int, str, str]]:
    """(index 1–31, id, code) of the provinces asked for, in code order."""
    table = [(index, pid, code) for index, (pid, code) in enumerate(PROVINCE_IDS, start=1)]
    if not wanted:
        return table
    known = {pid for _, pid, _ in table} | {code for _, _, code in table}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(
            f"unknown provinces {unknown}; use ids such as hlj or codes such as 230000"
        )
    return [entry for entry in table if entry[1] in wanted or entry[2] in wanted]


def china_topology(tree: ChinaTree) -> dict[str, Any]:
    """The topology document (a dict for ``yaml.safe_dump``)."""
    top = f"127.{BASE_OCTET}.0"
    nodes = [_node("national", "national", None, "国家" + SHARING, host=f"{top}.1", tree=tree)]
    for i, (mid, name) in enumerate(MINISTRIES[: tree.ministries]):
        host = f"{top}.{10 + i}"
        nodes.append(_node(mid, "ministry", "national", name + SHARING, host=host, tree=tree))
    for index, pid, code in chosen_provinces(tree.provinces):
        nodes += _province(index, pid, code, tree)
    exchange: dict[str, Any] = {"broker": tree.broker, "interval": tree.interval}
    if tree.broker in LAUNCHED_BROKERS:
        exchange |= {"host": f"{top}.254", "port": 18830}
    return {
        "network": tree.network,
        "timezone": "Asia/Shanghai",
        "path": "/ecert",
        "exchange": exchange,
        "nodes": nodes,
    }


def _province(index: int, pid: str, code: str, tree: ChinaTree) -> list[dict[str, Any]]:
    net, province_name = f"127.{BASE_OCTET + index}", area_name(code) or pid
    municipal = code in MUNICIPALITIES
    title = province_name + SHARING
    nodes = [_node(pid, "province", "national", title, host=f"{net}.0.1", tree=tree, area=code)]
    for i, (suffix, name, municipal_name) in enumerate(DEPARTMENTS[: tree.departments]):
        title = f"{province_name}{municipal_name if municipal else name}电子证照系统"
        nodes.append(
            _node(f"{pid}-{suffix}", "department", pid, title, host=f"{net}.0.{10 + i}",
                  tree=tree, area=code, source=f"0{i + 1:02d}")
        )  # fmt: skip
    for c, city_code in enumerate(prefectures(code) if tree.cities else (), start=1):
        nodes += _city(pid, c, city_code, f"{net}.{c}", tree)
    return nodes


def _city(pid: str, c: int, code: str, net: str, tree: ChinaTree) -> list[dict[str, Any]]:
    """The ``c``-th city of a province and its departments, on ``<net>.1`` and ``<net>.10``…"""
    city_id, city_name = f"{pid}-{code[:4]}", area_name(code) or code
    nodes = [
        _node(city_id, "city", pid, city_name + SHARING, host=f"{net}.1", tree=tree, area=code,
              source=f"1{c:02d}")
    ]  # fmt: skip
    for j, (suffix, _, name) in enumerate(DEPARTMENTS[: tree.city_departments]):
        serial = (c - 1) * len(DEPARTMENTS) + j  # unique in the province: 200, 201, …
        nodes.append(
            _node(f"{city_id}-{suffix}", "department", city_id, f"{city_name}{name}电子证照系统",
                  host=f"{net}.{10 + j}", tree=tree, area=code,
                  source=f"{2 + serial // 100}{serial % 100:02d}")
        )  # fmt: skip
    return nodes


def _node(
    node_id: str,
    tier: str,
    parent: str | None,
    name: str,
    *,
    host: str,
    tree: ChinaTree,
    area: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """One node entry, keys in the order a person writes them."""
    node: dict[str, Any] = {"id": node_id, "tier": tier}
    if parent is not None:
        node["parent"] = parent
    node["name"] = name
    if area is not None:
        node["area_code"] = area
    if source is not None:
        node["data_source"] = source
    return node | {"host": host, "port": tree.port}
