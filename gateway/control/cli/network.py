"""``ecert up``, ``ecert down``, ``ecert status`` and ``ecert wait``: the network's processes."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from gateway.control.cli.common import (
    add_global_options,
    add_json_option,
    console,
    error_console,
    print_json,
)
from gateway.control.launcher import Launcher, Phase, UpResult
from gateway.control.node_status import NodeStatus
from gateway.control.settle import DEFAULT_TIMEOUT, Lag, wait_settled
from gateway.control.state import BROKER, StateDir


def add_parsers(subparsers: Any) -> None:
    up = subparsers.add_parser("up", help="start the network in the background")
    up.add_argument("topology_file", nargs="?", metavar="TOPOLOGY", help="default ./topology.yaml")
    up.add_argument("--seed", type=int, default=2836, help="synthetic data seed (first start)")
    up.add_argument("--no-seed", action="store_true", help="first start without synthetic data")
    up.add_argument("--per-node", type=int, default=40, help="synthetic certificates per node")
    up.add_argument(
        "--foreground", action="store_true", help="stay attached; Ctrl-C stops the network"
    )
    up.add_argument(
        "--wait",
        action="store_true",
        help="return only once every node's catalog rows have reached national (see `wait`)",
    )
    packing = up.add_mutually_exclusive_group()
    packing.add_argument(
        "--nodes-per-process",
        type=int,
        metavar="N",
        help="run up to N nodes in each process (default: one per node up to 12 nodes, "
        "else two processes per core, a province's subtree kept together)",
    )
    packing.add_argument(
        "--process-per-node", action="store_true", help="one process for each node"
    )
    up.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    add_timeout_option(up)
    up.set_defaults(handler=run_up)
    down = subparsers.add_parser(
        "down",
        help="stop every node and the embedded broker, or only some (a failure to test)",
        description="Without --node or --broker: stop the whole network. With them: stop only "
        "those (SIGTERM, or SIGKILL with --kill, as a crash would); `ecert up` starts them again.",
    )
    down.add_argument(
        "--node", action="append", default=[], metavar="ID", help="stop this node (repeatable)"
    )
    down.add_argument("--broker", action="store_true", help="stop the embedded broker")
    down.add_argument("--kill", action="store_true", help="SIGKILL instead of a clean stop")
    down.set_defaults(handler=run_down)
    status = subparsers.add_parser("status", help="health and counters of every node")
    add_json_option(status)
    status.set_defaults(handler=run_status)
    for parser in (up, down, status, _wait_parser(subparsers)):
        add_global_options(parser, subcommand=True)


def _wait_parser(subparsers: Any) -> argparse.ArgumentParser:
    wait: argparse.ArgumentParser = subparsers.add_parser(
        "wait",
        help="wait until every node is healthy and every catalog row has reached national",
        description="Return once every node answers as ready, no node below national has "
        "catalog rows its parent has not acknowledged, and no province has anomalies still to "
        "pass down; else, after --timeout, fail naming the nodes that lag and by what.",
    )
    add_timeout_option(wait)
    wait.set_defaults(handler=run_wait)
    return wait


def add_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for the catalogs (default {DEFAULT_TIMEOUT:g})",
    )


# -- up -------------------------------------------------------------------------------------------
def run_up(args: argparse.Namespace) -> int:
    launcher = Launcher(
        args.topology,
        args.state_dir,
        seed=None if args.no_seed else args.seed,
        per_node=args.per_node,
        nodes_per_process=1 if args.process_per_node else args.nodes_per_process,
    )
    if args.foreground:
        return asyncio.run(_foreground(launcher, wait=args.wait, within=args.timeout))
    if args.quiet:
        asyncio.run(launcher.up())
        if args.wait:
            asyncio.run(wait_settled(launcher, within=args.timeout))
        return 0
    result = asyncio.run(_up_with_progress(launcher))
    _print_up(launcher, result)
    if args.wait:
        asyncio.run(wait_with_progress(launcher, args.timeout))
    return 0


def run_wait(args: argparse.Namespace) -> int:
    launcher = Launcher.from_state(args.state_dir, args.topology)
    asyncio.run(wait_with_progress(launcher, args.timeout))
    return 0


async def wait_with_progress(launcher: Launcher, within: float) -> None:
    """``settle.wait_settled`` with what still lags on stderr when it is a terminal."""
    network = launcher.topology.network
    started = time.monotonic()
    if not sys.stderr.isatty():
        await wait_settled(launcher, within=within)
    else:
        with error_console().status(f"waiting for {network}'s catalogs…") as shown:

            def on_lags(lags: list[Lag]) -> None:
                names = ", ".join(dict.fromkeys(lag.name for lag in lags))
                shown.update(f"waiting for {network}'s catalogs: {names}")

            await wait_settled(launcher, within=within, progress=on_lags)
    took = time.monotonic() - started
    console().print(
        f"network {network} has settled: every catalog row is at {launcher.topology.root().id}"
        f" ({took:.1f} s)"
    )


async def _up_with_progress(launcher: Launcher) -> UpResult:
    """``launcher.up()`` with a progress bar on stderr when it is a terminal, else a line a
    stage (CI logs): the broker ready, every node's process started, each quarter healthy."""
    if not sys.stderr.isatty():
        return await launcher.up(StageLines(launcher))
    total = len(launcher.topology.nodes) + (1 if launcher.embedded_broker else 0)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        console=error_console(),
        transient=True,
    )
    network = launcher.topology.network
    task = progress.add_task(f"starting {network}", total=total, last="")

    def on_event(name: str, phase: Phase) -> None:
        label = "broker" if name == BROKER else name
        progress.update(task, last=f"{label} {phase}", advance=1 if phase == "ready" else 0)

    with progress:
        return await launcher.up(on_event)


class StageLines:
    """``up``'s progress as plain lines on stdout (stderr keeps errors alone), one a stage."""

    def __init__(self, launcher: Launcher):
        self.network = launcher.topology.network
        self.total = len(launcher.topology.nodes)
        self.started = time.monotonic()
        self.counts: dict[str, int] = {"starting": 0, "running": 0, "ready": 0}
        self.said: set[str] = set()

    def __call__(self, name: str, phase: Phase) -> None:
        if name == BROKER:
            self._say(f"broker {phase}")
            return
        self.counts[phase] += 1
        begun = self.counts["starting"] + self.counts["running"]
        if begun == self.total:
            self._say(
                f"{self.counts['starting']} node(s) starting, {self.counts['running']} running"
            )
        healthy = self.counts["ready"] + self.counts["running"]
        for quarter in (1, 2, 3, 4):
            if healthy >= self.total * quarter / 4:
                self._say(f"{healthy}/{self.total} nodes healthy", key=f"q{quarter}")

    def _say(self, what: str, *, key: str | None = None) -> None:
        if (key or what) in self.said:
            return
        self.said.add(key or what)
        took = time.monotonic() - self.started
        print(f"up {self.network}: {what} ({took:.1f} s)", flush=True)


def _print_up(launcher: Launcher, result: UpResult) -> None:
    out = console()
    network = launcher.topology.network
    if not result.started and not result.broker_started:
        out.print(f"network {network} is already up (state in {launcher.state.root})")
    else:
        out.print(
            f"network {network} is up: started {len(result.started)} node(s)"
            + (", the broker" if result.broker_started else "")
            + f"; state in {launcher.state.root}"
        )
    rows = Table(title=f"{network} — {_broker_line(launcher)}", title_justify="left")
    for column in ("node", "tier", "url", "pid", "state"):
        rows.add_column(column)
    for node in launcher.topology.nodes:
        state = "started" if node.id in result.started else "already running"
        rows.add_row(node.id, str(node.tier), node.url, str(launcher.node_pid(node.id)), state)
    out.print(rows)


async def _foreground(launcher: Launcher, *, wait: bool, within: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        result = await _up_with_progress(launcher)
        _print_up(launcher, result)
        if wait:
            await wait_with_progress(launcher, within)
        console().print("running in the foreground; Ctrl-C stops the network")
        await stop.wait()
    finally:
        stopped = await launcher.down()
        console().print(f"stopped {len(stopped)} process(es)")
    return 0


# -- down -----------------------------------------------------------------------------------------
def run_down(args: argparse.Namespace) -> int:
    if not args.topology.exists() and not StateDir(args.state_dir).topology_path.exists():
        console().print(f"no network in {StateDir(args.state_dir).root}; nothing to stop")
        return 0
    launcher = Launcher.from_state(args.state_dir, args.topology)
    if args.node or args.broker:
        return _down_some(launcher, args)
    if args.kill:
        print("ecert: error: --kill needs --node or --broker (a whole network stops cleanly)",
              file=sys.stderr)  # fmt: skip
        return 2
    stopped = asyncio.run(launcher.down())
    network = launcher.topology.network
    if not stopped:
        console().print(f"network {network} was not running")
        return 0
    nodes = [name for name in stopped if name != BROKER]
    broker = " and the broker" if BROKER in stopped else ""
    console().print(f"network {network}: stopped {len(nodes)} node(s){broker}")
    return 0


def _down_some(launcher: Launcher, args: argparse.Namespace) -> int:
    stopped = asyncio.run(launcher.stop_some(args.node, broker=args.broker, kill=args.kill))
    asked = [*args.node, *([BROKER] if args.broker else [])]
    how = "killed" if args.kill else "stopped"
    network = launcher.topology.network
    done = ", ".join(stopped) or "nothing"
    idle = [name for name in asked if name not in stopped]
    console().print(
        f"network {network}: {how} {done}"
        + (f" ({', '.join(idle)} not running)" if idle else "")
        + ("; `ecert up` starts them again" if stopped else "")
    )
    return 0


# -- status ---------------------------------------------------------------------------------------
def run_status(args: argparse.Namespace) -> int:
    launcher = Launcher.from_state(args.state_dir, args.topology)
    statuses = asyncio.run(launcher.status())
    broker = launcher.broker_status()
    down = [s.id for s in statuses if not s.healthy]
    broker_down = broker.embedded and not broker.alive
    if args.json:
        print_json(
            {
                "network": launcher.topology.network,
                "state_dir": str(launcher.state.root),
                "broker": {"url": broker.url, "embedded": broker.embedded, "pid": broker.pid,
                           "alive": broker.alive},
                "nodes": [s.as_dict() for s in statuses],
            }
        )  # fmt: skip
    else:
        _print_status(launcher, statuses)
        if down:
            print(f"down: {', '.join(down)}", file=sys.stderr)
    return 1 if down or broker_down else 0


def _print_status(launcher: Launcher, statuses: list[NodeStatus]) -> None:
    title = f"{launcher.topology.network} — {_broker_line(launcher)}"
    rows = Table(title=title, title_justify="left")
    columns = ("node", "tier", "url", "pid", "healthy", "certificates", "catalog rows",
               "last exchange", "open anomalies")  # fmt: skip
    for column in columns:
        justify = "right" if column in {"pid", "certificates", "catalog rows"} else "left"
        rows.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in statuses:
        rows.add_row(
            s.id,
            s.tier,
            s.url,
            _dash(s.pid),
            "yes" if s.healthy else "[red]NO[/red]",
            _dash(s.certificates),
            _dash(s.catalog_rows),
            _ago(s.last_exchange_at),
            _dash(s.open_anomalies),
        )
    console().print(rows)


def _broker_line(launcher: Launcher) -> str:
    broker = launcher.broker_status()
    if not broker.embedded:
        return f"external broker {broker.url}"
    state = f"pid {broker.pid}" if broker.alive else "not running"
    return f"{launcher.topology.exchange.broker} broker {broker.url} ({state})"


def _dash(value: object) -> str:
    return "-" if value is None else str(value)


def _ago(stamp: str | None) -> str:
    """``12s ago`` for an ISO timestamp, the text itself when it does not parse."""
    if not stamp:
        return "never"
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - when).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    return f"{seconds // 60}m ago" if seconds < 7200 else when.isoformat(timespec="seconds")
