"""The packing rule of node hosts and the memory estimate ``up`` refuses by."""

from __future__ import annotations

import pytest
import yaml

from gateway.control.china import ChinaTree, china_topology
from gateway.control.errors import LauncherError
from gateway.control.hosts import check_memory, estimate_mib, pack
from gateway.core.topology import Topology, parse_topology
from tests.unit.test_catalog_support import topology as small_topology


def china(**tree: object) -> Topology:
    document = china_topology(ChinaTree(**tree))  # type: ignore[arg-type]
    return parse_topology(yaml.safe_dump(document, allow_unicode=True))


def test_a_small_network_keeps_one_process_per_node_unless_asked() -> None:
    topology = small_topology()
    ids = [node.id for node in topology.nodes]
    assert pack(topology, ids) == [[node_id] for node_id in ids]
    assert sorted(map(len, pack(topology, ids, nodes_per_process=3))) == [3, 3]


def test_a_big_network_gets_two_hosts_per_core_with_provinces_kept_together() -> None:
    topology = china(provinces=["hlj", "jl"], ministries=0, departments=8)
    ids = [node.id for node in topology.nodes]
    hosts = pack(topology, ids, cores=2)
    assert sorted(node for host in hosts for node in host) == sorted(ids)  # each node once
    assert len(hosts) == 4
    assert max(map(len, hosts)) - min(map(len, hosts)) <= 11  # as even as the subtrees allow
    for host in hosts:  # a province's part of a host is a whole run of its subtree
        provinces = {topology.province_of(node_id) for node_id in host}
        assert len(provinces) <= 2


def test_nodes_per_process_bounds_every_host_and_one_means_a_process_each() -> None:
    topology = china(provinces=["hlj", "jl"], ministries=0, departments=8)
    ids = [node.id for node in topology.nodes]
    assert all(len(host) <= 10 for host in pack(topology, ids, nodes_per_process=10))
    assert pack(topology, ids, nodes_per_process=1) == [[node_id] for node_id in ids]
    with pytest.raises(LauncherError, match="at least 1"):
        pack(topology, ids, nodes_per_process=0)


def test_more_nodes_than_memory_holds_are_refused_saying_so() -> None:
    one_each = [[f"n{i}"] for i in range(10_000_000 // 80)]
    with pytest.raises(LauncherError, match=r"MiB available; pack more nodes"):
        check_memory(one_each)
    assert estimate_mib([["a", "b", "c"]]) < estimate_mib([["a"], ["b"], ["c"]])
