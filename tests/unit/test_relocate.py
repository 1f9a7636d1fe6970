"""A relocated topology: the same network on fresh loopback addresses and free ports."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

from gateway.control.relocate import fresh_addresses, relocated, topology_yaml
from gateway.core.topology import Topology, load_topology, parse_topology

DEMO = load_topology(Path(__file__).resolve().parents[2] / "topology.yaml")


def test_everything_but_the_addresses_is_kept() -> None:
    moved = relocated(DEMO)
    strip = {"host", "port"}
    assert [n.model_dump(exclude=strip) for n in moved.nodes] == [
        n.model_dump(exclude=strip) for n in DEMO.nodes
    ]
    assert moved.exchange.model_dump(exclude=strip) == DEMO.exchange.model_dump(exclude=strip)
    assert (moved.network, moved.path, moved.timezone) == (DEMO.network, DEMO.path, DEMO.timezone)


def test_every_node_and_the_broker_get_their_own_new_address() -> None:
    moved = relocated(DEMO)
    hosts = [node.host for node in moved.nodes] + [moved.exchange.host]
    assert len(set(hosts)) == len(hosts)
    assert not set(hosts) & ({node.host for node in DEMO.nodes} | {DEMO.exchange.host})
    for host in hosts:
        address = ipaddress.ip_address(host)
        assert address.is_loopback
        assert address >= ipaddress.ip_address("127.3.0.0")
    assert all(node.port > 0 for node in moved.nodes)


def test_an_external_broker_stays_where_it_is() -> None:
    document = DEMO.model_dump(mode="json", exclude_none=True)
    document["exchange"]["broker"] = "mqtt://127.0.0.1:1883"
    moved = relocated(Topology.model_validate(document))
    assert moved.exchange.broker == "mqtt://127.0.0.1:1883"


def test_the_file_reads_back_equal() -> None:
    moved = relocated(DEMO)
    assert parse_topology(topology_yaml(moved)) == moved


def test_addresses_skip_network_and_broadcast_octets() -> None:
    for seed in range(50):
        found = fresh_addresses(300, rng=random.Random(seed))
        assert len(set(found)) == 300
        assert not any(address.endswith((".0", ".255")) for address in found)
