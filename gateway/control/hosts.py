"""Node hosts: which nodes share a process (the packing rule), and the hosts' control ports.

The packing rule (``pack``):

- A network of at most ``SMALL_NETWORK`` nodes keeps one process per node, so a process fault
  (kill, pause) hits exactly one node as it always did; ``--nodes-per-process N`` packs it anyway.
- A bigger one is spread over ``HOSTS_PER_CORE`` hosts per core (two cores: four hosts), as even
  as the subtrees allow: the nodes are taken a province's subtree at a time (national and the
  ministries first), and a subtree goes whole into the host with the fewest nodes while it fits
  under the even share; one bigger than the share is split across hosts in file order.
- ``--nodes-per-process N``: hosts of at most N nodes, subtrees kept together where they fit;
  ``--process-per-node`` is N = 1.

A host of one node is the plain process it always was (named by its node). A host of several is
named ``host-<first node>``; ``<state>/run/hosts.json`` lists its nodes, its pid file is
``run/<host>.pid`` and every node of it gets a pid file holding the host's pid, so ``ecert
status`` shows the host pid of each node. The host announces its control port in
``run/<host>.control`` (``nodes.host_control``) and lists the nodes it serves beside it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.control.errors import LauncherError
from gateway.control.state import HOST_PREFIX, StateDir, write_private
from gateway.core.topology import Topology

# Memory a process needs (interpreter, libraries, one node) and each further node of a host
# (store caches, app, forwarder), measured with bench_scale (431 nodes in 5 hosts: 2.5 MiB a
# node beside the hosts' own),
# rounded up; ``up`` refuses a network whose estimate exceeds what the machine has free.
PROCESS_MIB = 80
NODE_MIB = 4
SMALL_NETWORK = 12  # nodes; up to this many keep one process per node unless asked
HOSTS_PER_CORE = 2
CONTROL_TIMEOUT = 60.0  # seconds for one control request (a start waits for the node to listen)


def pack(
    topology: Topology,
    node_ids: Sequence[str],
    *,
    nodes_per_process: int | None = None,
    cores: int | None = None,
) -> list[list[str]]:
    """The hosts to start for ``node_ids`` (see the module's docstring), in file order."""
    wanted = [node.id for node in topology.nodes if node.id in set(node_ids)]
    if not wanted:
        return []
    if nodes_per_process is None:
        if len(topology.nodes) <= SMALL_NETWORK:
            return [[node_id] for node_id in wanted]
        hosts = HOSTS_PER_CORE * (cores or os.cpu_count() or 1)
        nodes_per_process = math.ceil(len(wanted) / hosts)
    if nodes_per_process < 1:
        raise LauncherError("--nodes-per-process must be at least 1")
    return _fill(_subtrees(topology, wanted), nodes_per_process)


def _subtrees(topology: Topology, wanted: list[str]) -> list[list[str]]:
    """The wanted nodes grouped by province (national and the ministries as one group first)."""
    groups: dict[str, list[str]] = {}
    for node_id in wanted:
        province = topology.province_of(node_id)
        groups.setdefault("" if province is None else province.id, []).append(node_id)
    return list(groups.values())


def _fill(groups: list[list[str]], size: int) -> list[list[str]]:
    hosts: list[list[str]] = []
    for group in groups:
        for start in range(0, len(group), size):
            part = group[start : start + size]
            fitting = [host for host in hosts if len(host) + len(part) <= size]
            if fitting:
                min(fitting, key=len).extend(part)
            else:
                hosts.append(list(part))
    return hosts


def estimate_mib(hosts: Sequence[Sequence[str]]) -> int:
    """What these hosts will hold in memory, about."""
    return sum(PROCESS_MIB + NODE_MIB * (len(nodes) - 1) for nodes in hosts)


def available_mib() -> int | None:
    """MemAvailable of /proc/meminfo; None where there is none (no refusal then)."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        return None
    return None


def check_memory(hosts: Sequence[Sequence[str]]) -> None:
    """Refuse before anything starts when the hosts would not fit in the free memory."""
    need, free = estimate_mib(hosts), available_mib()
    if free is not None and need > free:
        nodes = sum(len(group) for group in hosts)
        raise LauncherError(
            f"{nodes} nodes in {len(hosts)} processes need about {need:,} MiB and this machine "
            f"has {free:,} MiB available; pack more nodes in each process "
            "(--nodes-per-process N) or start a smaller network"
        )


def host_name(node_ids: Sequence[str]) -> str:
    return node_ids[0] if len(node_ids) == 1 else f"{HOST_PREFIX}{node_ids[0]}"


# -- what the launcher keeps about hosts -------------------------------------------------------
def hosts_path(state: StateDir) -> Path:
    return state.run_dir / "hosts.json"


def read_hosts(state: StateDir) -> dict[str, list[str]]:
    """Host name → its nodes, for every host of several nodes started here."""
    try:
        stored = json.loads(hosts_path(state).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {str(name): [str(n) for n in nodes] for name, nodes in stored.items()}


def write_hosts(state: StateDir, hosts: dict[str, list[str]]) -> None:
    state.prepare()
    write_private(hosts_path(state), json.dumps(hosts, indent=1).encode())


def control_path(state: StateDir, host: str) -> Path:
    return state.run_dir / f"{host}.control"


def serving(state: StateDir, host: str) -> set[str] | None:
    """The nodes a live host says it serves; None before it has said (it is starting)."""
    listing = control_path(state, host).with_name(f"{host}.control.nodes")
    try:
        return set(listing.read_text(encoding="utf-8").split())
    except FileNotFoundError:
        return None


async def control(state: StateDir, host: str, op: str, node_id: str) -> list[str]:
    """Ask a host to ``abort``, ``stop`` or ``start`` one of its nodes; its nodes afterwards."""
    try:
        announced = json.loads(control_path(state, host).read_text(encoding="utf-8"))
        port, key = int(announced["port"]), str(announced["key"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LauncherError(f"host {host} has no control port: {exc}") from None
    request: dict[str, Any] = {"key": key, "op": op, "node": node_id}
    try:
        async with asyncio.timeout(CONTROL_TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(json.dumps(request).encode() + b"\n")
                await writer.drain()
                reply = json.loads(await reader.readline())
            finally:
                writer.close()
    except (OSError, TimeoutError, ValueError) as exc:
        raise LauncherError(f"host {host} did not answer {op} {node_id}: {exc}") from None
    if not reply.get("ok"):
        raise LauncherError(f"host {host} refused {op} {node_id}: {reply.get('error')}")
    return [str(node) for node in reply.get("running", [])]
