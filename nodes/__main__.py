"""``python -m nodes --topology F --node ID [--node ID ...] [--state-dir D] [--seed N]``.

One process runs every node named (a node host, ``nodes.host``); each node keeps its own socket,
store, keys and logs' ``node`` field. ``--control PATH`` opens the host's control port, through
which the launcher stops, aborts and starts one node of it (``nodes.host_control``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable
from functools import partial
from pathlib import Path

import uvloop

from gateway.core.errors import TopologyError
from gateway.core.topology import Topology, load_topology
from nodes.errors import NodeStartFailed
from nodes.host import NodeHost
from nodes.host_control import host_control
from nodes.logs import configure_logging
from nodes.serve import install_signal_trigger, tune_collector
from nodes.settings import NodeSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m nodes", description=__doc__)
    parser.add_argument("--topology", default="topology.yaml", help="the topology file")
    parser.add_argument(
        "--node", required=True, action="append", help="the id of a node to run (repeatable)"
    )
    parser.add_argument("--control", type=Path, help="where the host announces its control port")
    parser.add_argument("--state-dir", default=".ecert", help="where databases and keys live")
    parser.add_argument("--seed", type=int, default=2836, help="synthetic data seed (first start)")
    parser.add_argument("--no-seed", action="store_true", help="start with no synthetic data")
    parser.add_argument("--per-node", type=int, default=40, help="synthetic certificates per node")
    parser.add_argument(
        "--no-seal-check",
        action="store_true",
        help="VerifyCertificate skips the seal signature (to measure its cost; never in service)",
    )
    return parser.parse_args(argv)


async def _main(args: argparse.Namespace, topology: Topology) -> None:
    stop = install_signal_trigger()
    async with NodeHost(partial(node_settings, args, topology)) as host:
        at_once = asyncio.Semaphore(STARTS_AT_ONCE)

        async def start(node_id: str) -> None:
            async with at_once:
                await host.start(node_id)

        async with asyncio.TaskGroup() as starting:
            for node_id in args.node:
                starting.create_task(start(node_id), name=f"node[{node_id}].start")
        tune_collector()  # once per process, after what every node built at start
        if args.control is None:
            await _until_first(stop(), host.stopped.wait())
            return
        async with host_control(host, args.control):
            await stop()


async def _until_first(*waits: Awaitable[object]) -> None:
    """A process of one node ends with it (as before hosts existed) or on a signal."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def node_settings(args: argparse.Namespace, topology: Topology, node_id: str) -> NodeSettings:
    """A node's settings, its keys read from its folder now (a restart reads them again)."""
    node_dir = Path(args.state_dir) / node_id
    return NodeSettings(
        topology=topology,
        node_id=node_id,
        state_dir=Path(args.state_dir),
        seed=None if args.no_seed else args.seed,
        per_node=args.per_node,
        trusted_proxies=frozenset(str(ip) for ip in topology.node(node_id).trusted_proxies),
        link_keys=read_link_keys(node_dir / "link-keys.json"),
        exchange_password=read_secret(node_dir / "exchange.password"),
        seal_check=not args.no_seal_check,
    )


# Nodes of a host started at the same time: a start (migrations, synthetic data, catalog seed)
# is CPU and memory for a moment; a hundred at once held ~40 MB each and took minutes.
STARTS_AT_ONCE = 4
PRIVATE_UMASK = 0o077  # the store, its WAL, keys and logs: the node's user only


def read_link_keys(path: Path) -> dict[str, bytes]:
    """The keys of this node's links, as the launcher wrote them; none for a node started by
    hand (its peers' calls are then trusted by address, as before keys existed)."""
    try:
        stored = json.loads(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        return {}
    return {str(other): bytes.fromhex(key) for other, key in stored.items()}


def read_secret(path: Path) -> str | None:
    """A secret the launcher wrote for this node (one line), or None for a node started by hand."""
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    args = parse_args(argv)
    try:
        topology = load_topology(args.topology)
        for node_id in args.node:
            topology.node(node_id)
    except TopologyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(args.node) == 1:
        configure_logging(args.node[0])
    else:  # each node's task binds its own id (nodes.host)
        configure_logging(None)
    try:
        uvloop.run(_main(args, topology))
    except (NodeStartFailed, BaseExceptionGroup) as exc:
        # the host's task groups wrap what a node raised
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(NodeStartFailed) is None:
            raise
        return 1  # node.bind_failed is logged
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
