"""``ecert fault add|list|clear``: faults on a running network (``gateway.control.faults``)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from rich.table import Table

from gateway.control.cli.common import add_global_options, add_json_option, console, print_json
from gateway.control.errors import FaultInvalid
from gateway.control.faults import Direction, FaultKind, FaultRecord, Faults, FaultSpec
from gateway.control.launcher import Launcher

EXAMPLES = """\
examples:
  ecert fault add kill --node jl-changchun --for 30s
  ecert fault add cut --node hlj-harbin --peer hlj --direction out
  ecert fault add latency --node hlj --peer national --latency 200ms --jitter 50ms
  ecert fault add error --node hlj-harbin --from-ip 127.0.9.5 --for 1m
  ecert fault add skew --node national --skew=-1d
  ecert fault list
  ecert fault clear f3
"""

_SPEC_OPTIONS = MappingProxyType(
    {  # option dest → FaultSpec field
        "node": "node",
        "peer": "peer",
        "direction": "direction",
        "from_ip": "from_ip",
        "fraction": "fraction",
        "latency": "latency_ms",
        "jitter": "jitter_ms",
        "delay": "delay_ms",
        "skew": "skew_seconds",
        "for_": "for_seconds",
    }
)


def add_parsers(subparsers: Any) -> None:
    fault = subparsers.add_parser(
        "fault",
        help="apply, list and clear faults on the running network",
        description="Faults on the running network; each may heal itself (--for). "
        "`ecert down` ends them all.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = fault.add_subparsers(dest="fault_command", metavar="COMMAND", required=True)
    add = _add_parser(commands)
    listing = commands.add_parser("list", help="the faults in force, with their time left")
    add_json_option(listing)
    listing.set_defaults(handler=run_list)
    clear = commands.add_parser("clear", help="heal faults now")
    clear.add_argument("ids", nargs="*", metavar="ID", help="the faults to heal (f1 …)")
    clear.add_argument("--all", action="store_true", help="every fault, on every node")
    add_json_option(clear)
    clear.set_defaults(handler=run_clear)
    for parser in (fault, add, listing, clear):
        add_global_options(parser, subcommand=True)


def _add_parser(commands: Any) -> argparse.ArgumentParser:
    add: argparse.ArgumentParser = commands.add_parser(
        "add",
        help="apply a fault",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = [kind.value for kind in FaultKind]
    add.add_argument("kind", choices=kinds, metavar="KIND", help=", ".join(kinds))
    add.add_argument("--node", metavar="ID", help="the node (of a link: one end)")
    add.add_argument("--peer", metavar="ID", help="the neighbour at the link's other end")
    add.add_argument(
        "--direction",
        choices=[d.value for d in Direction],
        help="of a link: out (node → peer), in (peer → node), both (default)",
    )
    add.add_argument("--from-ip", metavar="IP", help="only the requests of this application")
    add.add_argument("--fraction", type=float, metavar="F", help="hit this share of requests")
    add.add_argument("--latency", metavar="TIME", help="latency: the wait (200ms, 1s)")
    add.add_argument("--jitter", metavar="TIME", help="latency: ± up to this much")
    add.add_argument("--delay", metavar="TIME", help="slow: how late the node answers")
    add.add_argument("--skew", metavar="TIME", help="skew: clock offset (1d; --skew=-2h)")
    add.add_argument("--for", dest="for_", metavar="TIME", help="heal by itself after (30s)")
    add_json_option(add)
    add.set_defaults(handler=run_add)
    return add


def _faults(args: argparse.Namespace) -> Faults:
    return Faults(Launcher.from_state(args.state_dir, args.topology))


def run_add(args: argparse.Namespace) -> int:
    given = {
        field: getattr(args, option)
        for option, field in _SPEC_OPTIONS.items()
        if getattr(args, option) is not None
    }
    spec = FaultSpec.parse({"kind": args.kind, **given})
    record = asyncio.run(_faults(args).add(spec))
    if args.json:
        print_json(_view(record))
    else:
        heals = _time_left(record)
        until = f"heals in {heals}" if heals != "-" else f"until `ecert fault clear {record.id}`"
        console().print(f"fault {record.id} applied: {record.spec.describe()}; {until}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    records = asyncio.run(_faults(args).list())
    if args.json:
        print_json([_view(record) for record in records])
        return 0
    if not records:
        console().print("no faults in force")
        return 0
    rows = Table(title="faults in force", title_justify="left")
    for column in ("id", "kind", "fault", "held by", "applied", "time left"):
        rows.add_column(column)
    for record in records:
        held = ", ".join(record.nodes) or (f"pid {record.pid}" if record.pid else "-")
        applied = record.applied_at.astimezone().strftime("%H:%M:%S")
        rows.add_row(
            record.id, str(record.spec.kind), record.spec.describe(), held, applied,
            _time_left(record),
        )  # fmt: skip
    console().print(rows)
    return 0


def run_clear(args: argparse.Namespace) -> int:
    if args.all == bool(args.ids):
        raise FaultInvalid("name the faults to clear (ecert fault clear f1 f2), or --all")
    faults = _faults(args)

    async def clear() -> list[FaultRecord]:
        if args.all:
            return await faults.clear_all()
        return [await faults.clear(fault_id) for fault_id in args.ids]

    records = asyncio.run(clear())
    if args.json:
        print_json([_view(record) for record in records])
        return 0
    for record in records:
        console().print(f"fault {record.id} healed: {record.spec.describe()}")
    if args.all:
        console().print(f"cleared {len(records)} fault(s); every node's fault table is empty")
    return 0


def _time_left(record: FaultRecord) -> str:
    left = record.time_left(datetime.now(UTC))
    if left is None:
        return "-"
    return f"{left:.0f}s" if left >= 10 else f"{left:.1f}s"


def _view(record: FaultRecord) -> dict[str, Any]:
    view = record.model_dump(mode="json")
    view["description"] = record.spec.describe()
    view["time_left_s"] = record.time_left(datetime.now(UTC))
    return view
