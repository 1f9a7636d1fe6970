"""``ecert console [--port P] [--open]``: a web page over the running network.

The page shows the tree of sharing systems with each node's health, certificates, catalog rows,
open anomalies and last exchange, refreshed every few seconds, and a form that calls any method
from any node as an application, lighting up the route hop by hop. It serves on 127.0.0.1 only
and loads nothing from outside the machine. It refuses to start when no network runs in the
state directory.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import webbrowser
from typing import Any

from aiohttp import web

from gateway.control.cli.common import add_global_options, error_console
from gateway.control.console.server import create_console_app
from gateway.control.errors import LauncherError
from gateway.control.launcher import Launcher

DEFAULT_PORT = 8780
STREAMS_END_WITHIN = 2.0  # seconds a stopping console gives open event streams (pages) to end


def add_parsers(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "console",
        help="a web page over the running network: the tree, its health, calls hop by hop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, metavar="P",
        help=f"the page's port on --host (default {DEFAULT_PORT}; 0: any free port)",
    )  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1", metavar="IP", help="default 127.0.0.1")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    add_global_options(parser, subcommand=True)
    parser.set_defaults(handler=run_console)


def running_launcher(args: argparse.Namespace) -> Launcher:
    """The launcher of the state directory's network; LauncherError when none runs there."""
    start = f"start one with `ecert up topology.yaml --state-dir {args.state_dir}`"
    try:
        launcher = Launcher.from_state(args.state_dir, args.topology)
    except LauncherError:
        raise LauncherError(f"no network in {args.state_dir}: {start}") from None
    if not launcher.running():
        raise LauncherError(f"the network in {args.state_dir} is not running: {start}")
    return launcher


def run_console(args: argparse.Namespace) -> int:
    launcher = running_launcher(args)
    return asyncio.run(_serve(launcher, args))


async def _serve(launcher: Launcher, args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(create_console_app(launcher), access_log=None, handle_signals=False,
                            shutdown_timeout=STREAMS_END_WITHIN)  # fmt: skip
    await runner.setup()
    try:
        site = web.TCPSite(runner, args.host, args.port)
        try:
            await site.start()
        except OSError as exc:
            raise LauncherError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
        port = runner.addresses[0][1]
        url = f"http://{args.host}:{port}/"
        print(f"console: {url}", flush=True)  # the first line: a script waits for it
        error_console().print(f"{launcher.topology.network}: {len(launcher.topology.nodes)} "
                              "nodes; Ctrl-C stops the console (not the network)")  # fmt: skip
        if args.open:
            webbrowser.open(url)
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0
