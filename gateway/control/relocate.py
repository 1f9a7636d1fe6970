"""A topology moved onto fresh loopback addresses and free ports, everything else kept.

Scenario runs and the pytest plugin start their own networks this way, so that a network of
``topology.yaml`` (127.0.2.x:8701) can run beside another of the same file, or beside anything
else on the machine. Each node gets its own address (IP-bound tokens stay meaningful); the
addresses are consecutive from a random start in 127.3.0.0–127.254.255.255 (127.0.0.0/14 is left
to fixed demo addresses and 127.0.1.1 to /etc/hosts), and each port is one the OS found free.
An external broker (``mqtt://host:port``) stays where it is.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

import yaml

from gateway.core.topology import Topology

LOWEST = 3 << 16  # 127.3.0.0
HIGHEST = 255 << 16  # 127.255.0.0 (exclusive)


def fresh_addresses(count: int, *, rng: random.Random | None = None) -> list[str]:
    """``count`` consecutive loopback addresses from a random start (last octets 0 and 255
    skipped)."""
    number = (rng or random.SystemRandom()).randrange(LOWEST, HIGHEST - count * 2)
    found: list[str] = []
    while len(found) < count:
        number += 1
        if number & 0xFF in (0, 255):
            continue
        found.append(f"127.{number >> 16 & 0xFF}.{number >> 8 & 0xFF}.{number & 0xFF}")
    return found


def free_port(host: str) -> int:
    """A TCP port nothing listens on at ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def relocated(topology: Topology) -> Topology:
    """The same network with every node (and the broker it starts) on a fresh address and port."""
    document = topology.model_dump(mode="json", exclude_none=True)
    addresses = fresh_addresses(len(topology.nodes) + 1)
    for node, host in zip(document["nodes"], addresses[1:], strict=True):
        node.update(host=host, port=free_port(host))
    if topology.exchange.launched:
        document["exchange"].update(host=addresses[0], port=free_port(addresses[0]))
    return Topology.model_validate(document)  # built again: no cached lookup of the old one


def topology_yaml(topology: Topology) -> str:
    """The topology as a file ``load_topology`` reads back equal."""
    document = topology.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def write_relocated(topology: Topology, path: Path) -> Path:
    """Write ``relocated(topology)`` to ``path``; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(topology_yaml(relocated(topology)), encoding="utf-8")
    return path
