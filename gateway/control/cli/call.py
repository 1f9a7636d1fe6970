"""``ecert call --node ID METHOD [Param=Value ...]``: call a method as a business application.

The CLI acts as an application (SPEC §4) through ``gateway.control.app_client``: an account at
the node bound to ``--from-ip``, the day's token from that address, the call from it. It prints
the envelope, the route the call took and each hop's time (``Server-Timing``), or all as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from rich.table import Table

from gateway.control.app_client import DEFAULT_FROM_IP, AppCaller, CallResult
from gateway.control.cli.common import add_global_options, add_json_option, console, load
from gateway.control.errors import CallError
from gateway.core.protocol import METHODS, ReturnCode


# -- the command ----------------------------------------------------------------------------------
def add_parsers(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "call",
        help="call a sharing method as a business application",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--node", required=True, metavar="ID", help="the node to call")
    parser.add_argument(
        "method",
        metavar="METHOD",
        choices=[m for m in METHODS if m != "Token"],
        help="one of the §7.3 methods, e.g. GetCertificateDataByCertificateID",
    )
    parser.add_argument(
        "params",
        nargs="*",
        metavar="Param=Value",
        help="request parameters, e.g. CertificateID=1.2.156.3005.2... UseFor=办事",
    )
    parser.add_argument(
        "--from-ip",
        default=DEFAULT_FROM_IP,
        metavar="IP",
        help=f"the application's address (default {DEFAULT_FROM_IP})",
    )
    parser.add_argument("--explain", action="store_true", help="plan the route, fetch nothing")
    parser.add_argument("--deadline-ms", type=int, metavar="MS", help="the call's time budget")
    add_json_option(parser)
    add_global_options(parser, subcommand=True)
    parser.set_defaults(handler=run_call)


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CallError(f"parameter {pair!r} is not Param=Value")
        params[name] = value
    params.setdefault("UseFor", "ecert call")
    return params


def run_call(args: argparse.Namespace) -> int:
    return asyncio.run(_call(args))


async def _call(args: argparse.Namespace) -> int:
    topology, state = load(args)
    params = parse_params(args.params)
    async with AppCaller(topology, state, args.node, from_ip=args.from_ip) as app:
        result = await app.call(
            args.method, params, explain=args.explain, deadline_ms=args.deadline_ms
        )
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        show(result)
    return 0 if result.status in (ReturnCode.SUCCESS, ReturnCode.PARTIAL_RESULT) else 1


def show(result: CallResult, *, title: str | None = None) -> None:
    out = console()
    out.print_json(json.dumps(result.envelope, ensure_ascii=False))
    out.print(hop_table(result, title=title))


def hop_table(result: CallResult, *, title: str | None = None) -> Table:
    """The route, one row per node in the order first reached, with its Server-Timing."""
    timing = dict(result.timings)
    status = result.envelope.get("head", {})
    table = Table(
        title=title or f"status {status.get('status')} {status.get('message', '')}",
        title_justify="left",
        caption=f"{result.elapsed_ms:.2f} ms at the application, request {result.request_id}",
        caption_justify="left",
    )
    table.add_column("hop", justify="right")
    table.add_column("node")
    table.add_column("ms (incl. below)", justify="right")
    for hop, node in enumerate(result.route):
        ms = timing.get(node)
        table.add_row(str(hop), node, "-" if ms is None else f"{ms:.2f}")
    return table
