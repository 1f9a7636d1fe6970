"""``python -m nodes --topology F --node ID [--state-dir D] [--seed N | --no-seed]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import uvloop

from gateway.core.errors import TopologyError
from gateway.core.topology import load_topology
from nodes.errors import NodeStartFailed
from nodes.logs import configure_logging
from nodes.serve import install_signal_trigger, serve
from nodes.settings import NodeSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m nodes", description=__doc__)
    parser.add_argument("--topology", default="topology.yaml", help="the topology file")
    parser.add_argument("--node", required=True, help="the id of the node to run")
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


async def _main(settings: NodeSettings) -> None:
    await serve(settings, shutdown_trigger=install_signal_trigger())


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
        topology.node(args.node)
    except TopologyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.node)
    node_dir = Path(args.state_dir) / args.node
    settings = NodeSettings(
        topology=topology,
        node_id=args.node,
        state_dir=Path(args.state_dir),
        seed=None if args.no_seed else args.seed,
        per_node=args.per_node,
        trusted_proxies=frozenset(str(ip) for ip in topology.node(args.node).trusted_proxies),
        link_keys=read_link_keys(node_dir / "link-keys.json"),
        exchange_password=read_secret(node_dir / "exchange.password"),
        seal_check=not args.no_seal_check,
    )
    try:
        uvloop.run(_main(settings))
    except (NodeStartFailed, BaseExceptionGroup) as exc:
        # the exchange's task group wraps what the body raised
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(NodeStartFailed) is None:
            raise
        return 1  # node.bind_failed is logged
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
