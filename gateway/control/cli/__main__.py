"""``ecert``: start, inspect and stop an e-license sharing network.

Exit codes: 0 success; 1 a failure at run time (a node down, a refused admin call, a process
that would not start); 2 bad usage or an invalid topology file; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import aiohttp

from gateway.control.cli import (
    accounts,
    application,
    call,
    conformance,
    console,
    demo,
    events,
    faults,
    lifecycle,
    network,
    records,
    scenario,
    seals,
    topology,
    verify,
)
from gateway.control.cli.common import Handler, add_global_options, resolve_paths
from gateway.control.errors import FaultInvalid
from gateway.core.errors import GatewayError, TopologyError

EXAMPLES = """\
examples:
  ecert up topology.yaml            start the network in the background
  ecert status                      health and counters of every node
  ecert account create --node hlj-harbin --ip 127.0.0.5
  ecert certs --node hlj-harbin
  ecert cert cancel --node jl-changchun CERTIFICATE_ID --reason 持证人申请注销
  ecert seals --node hlj-harbin     the e-seals of the authorities issuing there
  ecert conformance http://127.0.2.21:8701/ecert --account ID --from-ip 127.0.0.9
  ecert scenario run scenarios/*.yaml --junit out.xml
  ecert fault add latency --node hlj-harbin --peer hlj --latency 200ms --for 30s
  ecert events --follow
  ecert verify --node hlj-harbin --batch rows.csv
  ecert reminders --node jl-changchun --within 60
  ecert authorise --node jl-changchun CERTIFICATE_ID --grantor CODE NAME --to CODE NAME
  ecert mine --node hlj-harbin --holder CODE NAME
  ecert console --open              the network on a web page
  ecert down
"""


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
    lifecycle.add_parsers(subparsers)
    seals.add_parsers(subparsers)
    call.add_parsers(subparsers)
    demo.add_parsers(subparsers)
    topology.add_parsers(subparsers)
    conformance.add_parsers(subparsers)
    scenario.add_parsers(subparsers)
    faults.add_parsers(subparsers)
    events.add_parsers(subparsers)
    console.add_parsers(subparsers)
    verify.add_parsers(subparsers)
    application.add_parsers(subparsers)
    return parser


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
        return 2 if isinstance(exc, TopologyError | FaultInvalid) else 1


if __name__ == "__main__":
    raise SystemExit(main())
