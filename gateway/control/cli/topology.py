"""``ecert topology china``: write the real tree of sharing systems as a topology file."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from gateway.control.china import DEPARTMENTS, MINISTRIES, ChinaTree, china_topology
from gateway.core.errors import TopologyError
from gateway.core.topology import parse_topology


def add_parsers(subparsers: Any) -> None:
    group = subparsers.add_parser("topology", help="write topology files")
    kinds = group.add_subparsers(dest="kind", metavar="KIND", required=True)
    china = kinds.add_parser(
        "china",
        help="the real tree: national, ministries, 31 provinces, their cities and departments",
        description=(
            "National, ministries, the 31 provinces with their GB/T 2260 codes and names, their "
            "333 prefecture-level cities and provincial departments, optionally city departments. "
            "Defaults make 431 nodes; --city-departments 8 about 3,100."
        ),
    )
    china.add_argument(
        "--provinces",
        default="",
        metavar="LIST",
        help="comma-separated province ids or codes (e.g. hlj,jl or 230000); default all 31",
    )
    china.add_argument("--ministries", type=int, default=4, help=f"0-{len(MINISTRIES)} (default 4)")
    china.add_argument(
        "--departments", type=int, default=2, help=f"per province, 0-{len(DEPARTMENTS)} (default 2)"
    )
    china.add_argument(
        "--city-departments",
        type=int,
        default=0,
        help=f"per city, 0-{len(DEPARTMENTS)} (default 0)",
    )
    china.add_argument("--no-cities", action="store_true", help="provinces without their cities")
    china.add_argument("--network", default="china", help="network name (default china)")
    china.add_argument("--port", type=int, default=8701, help="every node's port (default 8701)")
    china.add_argument(
        "--broker",
        default="embedded",
        help="embedded (default), mosquitto (started by ecert up) or mqtt://host:port",
    )
    china.add_argument("--interval", type=float, default=2.0, help="catalog push interval, s")
    china.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    china.set_defaults(handler=run_china)


def run_china(args: argparse.Namespace) -> int:
    try:
        tree = ChinaTree(
            provinces=[name.strip() for name in args.provinces.split(",") if name.strip()],
            ministries=args.ministries,
            departments=args.departments,
            cities=not args.no_cities,
            city_departments=args.city_departments,
            network=args.network,
            port=args.port,
            broker=args.broker,
            interval=args.interval,
        )
        document = china_topology(tree)
    except ValueError as exc:
        print(f"ecert: error: {exc}", file=sys.stderr)
        return 2
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    try:  # the file `ecert up` reads must load: the generator is checked by the same rules
        topology = parse_topology(text, source="generated topology")
    except TopologyError as exc:  # pragma: no cover - a generator defect, not user input
        print(f"ecert: error: {exc}", file=sys.stderr)
        return 1
    header = f"# ecert topology china: {len(topology.nodes)} nodes\n"
    if args.output is None:
        sys.stdout.write(header + text)
    else:
        args.output.write_text(header + text, encoding="utf-8")
    tiers = Counter(str(node.tier) for node in topology.nodes)
    summary = ", ".join(f"{count} {tier}" for tier, count in tiers.items())
    print(f"{len(topology.nodes)} nodes: {summary}", file=sys.stderr)
    return 0
