"""``ecert``: start, inspect and stop an e-license sharing network.

Exit codes: 0 success; 1 a failure at run time (a node down, a refused admin call, a process
that would not start); 2 bad usage or an invalid topology file; 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import sys
from collections.abc import Sequence
from typing import Any

import aiohttp

from gateway.cli import accounts, network, records
from gateway.cli.common import Handler, add_global_options, resolve_paths
from gateway.errors import GatewayError, TopologyError

EXAMPLES = """\
examples:
  ecert up topology.yaml            start the network in the background
  ecert status                      health and counters of every node
  ecert account create --node hlj-harbin --ip 127.0.0.5
  ecert certs --node hlj-harbin
  ecert down
"""

# Command groups that live in modules of their own and may be missing from a build.
PLUGINS = {"call": "gateway.cli.call", "demo": "gateway.cli.demo"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecert",
        description="Run a DB23/T 2836-2021 e-license sharing cascade on this machine.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_global_options(parser, subcommand=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    network.add_parsers(subparsers)
    accounts.add_parsers(subparsers)
    records.add_parsers(subparsers)
    for name, module in PLUGINS.items():
        _add_plugin(subparsers, name, module)
    return parser


def _add_plugin(subparsers: Any, name: str, module_name: str) -> None:
    """Register ``ecert <name>`` from ``module_name``: ``add_parser(subparsers)``, ``run(args)``."""
    try:
        module = importlib.import_module(module_name)
        module.add_parser(subparsers)
        parser = subparsers.choices[name]
    except Exception as exc:  # a broken optional command must not break the whole CLI
        missing = isinstance(exc, ModuleNotFoundError) and exc.name == module_name
        reason = "is not part of this installation" if missing else f"cannot load: {exc}"
        stub = subparsers.add_parser(name, help=f"(unavailable: {module_name} {reason})")
        stub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        stub.set_defaults(handler=_unavailable(name, f"{module_name} {reason}"))
        return
    add_global_options(parser, subcommand=True)
    parser.set_defaults(handler=_plugin_handler(module))


def _plugin_handler(module: Any) -> Handler:
    def handle(args: argparse.Namespace) -> int:
        result = module.run(args)
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
        return int(result or 0)

    return handle


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _unavailable(name: str, reason: str) -> Handler:
    def handle(args: argparse.Namespace) -> int:
        print(f"ecert: `ecert {name}` is not available ({reason})", file=sys.stderr)
        return 2

    return handle


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    resolve_paths(args)
    return _run(handler, args)


def _run(handler: Handler, args: argparse.Namespace) -> int:
    """The handler's exit code; an error becomes one line on stderr, never a traceback."""
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("ecert: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``ecert status --json | head``)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (GatewayError, aiohttp.ClientError, OSError) as exc:
        print(f"ecert: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, TopologyError) else 1


if __name__ == "__main__":
    raise SystemExit(main())
