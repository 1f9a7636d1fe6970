"""What every command shares: the global options, consoles, JSON and table output, admin calls."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from gateway.control.admin_client import AdminClient
from gateway.control.state import StateDir
from gateway.core.topology import Topology, load_topology

T = TypeVar("T")
Handler = Callable[[argparse.Namespace], int]

DEFAULT_TOPOLOGY = "topology.yaml"
DEFAULT_STATE_DIR = ".ecert"
STATE_DIR_ENV = "ECERT_STATE_DIR"
WIDE = 200  # columns for tables written to a pipe or file


def add_global_options(parser: argparse.ArgumentParser, *, subcommand: bool) -> None:
    """``--topology`` and ``--state-dir``, accepted before and after the command name.

    On a subcommand the defaults are suppressed, so a value given before the command survives.
    An option the subcommand already defines is left as it is.
    """
    default = argparse.SUPPRESS if subcommand else None
    options = {
        "--topology": "topology file (default: the copy in the state dir, else ./topology.yaml)",
        "--state-dir": f"state directory (default: ${STATE_DIR_ENV} or ./{DEFAULT_STATE_DIR})",
    }
    for flag, help_text in options.items():
        try:
            parser.add_argument(flag, type=Path, default=default, metavar="PATH", help=help_text)
        except argparse.ArgumentError:
            continue


def resolve_paths(args: argparse.Namespace) -> None:
    """Fill ``args.state_dir`` and ``args.topology`` (Paths) from options, env and defaults."""
    state_dir = getattr(args, "state_dir", None) or os.environ.get(STATE_DIR_ENV)
    args.state_dir = Path(state_dir or DEFAULT_STATE_DIR)
    given = getattr(args, "topology_file", None) or getattr(args, "topology", None)
    if given is not None:
        args.topology = Path(given)
        return
    copy = StateDir(args.state_dir).topology_path
    # the network of the state directory first (a bare ``up`` restarts what stopped there),
    # then ./topology.yaml for a state directory that holds none yet
    args.topology = copy if copy.exists() else Path(DEFAULT_TOPOLOGY)


def console() -> Console:
    """Standard output for people: tables; wide when it is not a terminal."""
    return Console(width=None if sys.stdout.isatty() else WIDE, highlight=False)


def error_console() -> Console:
    return Console(stderr=True, highlight=False)


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def rows_of(value: Any) -> list[dict[str, Any]]:
    """A list answer, also when it comes wrapped (``{"dataList": [...]}`` or one list member)."""
    if isinstance(value, list):
        return [row for row in value if isinstance(row, dict)]
    if isinstance(value, dict):
        lists = [member for member in value.values() if isinstance(member, list)]
        if len(lists) == 1:
            return rows_of(lists[0])
    return []


def table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Table:
    """A rich table of ``columns`` (those absent from every row are dropped)."""
    present = [c for c in columns if any(c in row for row in rows)] if rows else list(columns)
    present = present or _all_keys(rows)
    result = Table(title=title, title_justify="left")
    for column in present:
        result.add_column((headers or {}).get(column, column), overflow="fold")
    for row in rows:
        result.add_row(*(cell(row.get(column)) for column in present))
    return result


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _all_keys(rows: Iterable[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return list(keys)


def load(args: argparse.Namespace) -> tuple[Topology, StateDir]:
    return load_topology(args.topology), StateDir(args.state_dir)


def with_admin(args: argparse.Namespace, call: Callable[[AdminClient], Awaitable[T]]) -> T:
    """Run ``call`` against the admin API of ``args.node``."""
    topology, state = load(args)
    topology.node(args.node)

    async def go() -> T:
        async with AdminClient(topology, state, args.node) as admin:
            return await call(admin)

    return asyncio.run(go())


def add_node_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node", required=True, metavar="ID", help="the node to ask")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
