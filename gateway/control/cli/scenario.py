"""``ecert scenario run FILE...`` and ``ecert scenario schema``: scripted routing checks (README).

``run`` refuses bad files before anything starts (exit 2, file, line and step of each problem),
runs every scenario, prints a report (or ``--json``), writes JUnit XML with ``--junit`` and the
run's merged event stream beside it (``out.xml`` → ``out.events.jsonl``), and exits 1 when a
step failed; 130 on Ctrl-C and 143 on SIGTERM, after stopping what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rich.table import Table

from gateway.control.cli.common import add_global_options, console, error_console, print_json
from gateway.control.errors import ScenarioInvalid
from gateway.control.scenario.loading import LoadedScenario, load_scenarios
from gateway.control.scenario.model import Scenario
from gateway.control.scenario.report import as_json, case_name, write_report
from gateway.control.scenario.runner import (
    SETTLE_WITHIN,
    RunOptions,
    ScenarioOutcome,
    run_scenarios,
)

TERMINATED = 143  # 128 + SIGTERM
MARKS = MappingProxyType({"passed": "[green]passed[/green]", "failed": "[red]FAILED[/red]",
                          "skipped": "[yellow]skipped[/yellow]"})  # fmt: skip


def add_parsers(subparsers: Any) -> None:
    group = subparsers.add_parser("scenario", help="run scenario files (YAML) against a network")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run", help="run scenarios; exit 1 when a step fails", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    run.add_argument("files", nargs="+", type=Path, metavar="FILE", help="scenario files")
    run.add_argument(
        "--junit", type=Path, metavar="PATH",
        help="write a JUnit XML report, and the run's events beside it (out.events.jsonl)",
    )  # fmt: skip
    run.add_argument("--json", action="store_true", help="print the outcome as JSON")
    run.add_argument(
        "--keep-up", action="store_true", help="leave the networks the run started running"
    )
    run.add_argument(
        "--keep-addresses",
        action="store_true",
        help="start networks on the topology's own addresses (default: fresh loopback "
        "addresses and free ports)",
    )
    run.add_argument(
        "--settle-timeout",
        type=float,
        default=SETTLE_WITHIN,
        metavar="S",
        help=f"seconds for a network to settle before the first step (default {SETTLE_WITHIN:g})",
    )
    run.set_defaults(handler=run_files)
    schema = actions.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.set_defaults(handler=print_schema)
    for parser in (group, run, schema):
        add_global_options(parser, subcommand=True)


def print_schema(args: argparse.Namespace) -> int:
    print(json.dumps(Scenario.model_json_schema(), ensure_ascii=False, indent=2))
    return 0


def run_files(args: argparse.Namespace) -> int:
    try:
        loaded = load_scenarios(args.files)
    except ScenarioInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"ecert: {len(exc.problems)} problem(s) in the scenario files; nothing was started",
              file=sys.stderr)  # fmt: skip
        return 2
    options = RunOptions(
        state_dir=args.state_dir,
        keep_up=args.keep_up,
        relocate=not args.keep_addresses,
        settle_within=args.settle_timeout,
    )
    try:
        outcomes = asyncio.run(_run(loaded, options))
    except asyncio.CancelledError:
        print("ecert: terminated; what the run started is stopped", file=sys.stderr)
        return TERMINATED
    if args.junit:
        events = write_report(args.junit, outcomes)
        _progress(f"JUnit XML in {args.junit}, the run's events in {events}")
    if args.json:
        print_json(as_json(outcomes))
    else:
        print_report(outcomes, keep_up=args.keep_up)
    return 1 if any(outcome.failed for outcome in outcomes) else 0


async def _run(loaded: list[LoadedScenario], options: RunOptions) -> list[ScenarioOutcome]:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run_scenarios(loaded, options, _progress)


def _progress(line: str) -> None:
    print(f"ecert scenario: {line}", file=sys.stderr, flush=True)


# -- the report -----------------------------------------------------------------------------------
def print_report(outcomes: Sequence[ScenarioOutcome], *, keep_up: bool) -> None:
    out = console()
    for outcome in outcomes:
        out.print(scenario_table(outcome))
        for step in outcome.steps:
            if step.outcome == "failed":
                out.print(f"[red]✗ {outcome.scenario.path}:{step.line} {case_name(step)}[/red]")
                out.print(step.detail or step.message, markup=False, highlight=False)
        if outcome.setup_error:
            out.print(f"[red]✗ no network: {outcome.setup_error}[/red]")
    steps = [step for outcome in outcomes for step in outcome.steps]
    counts = {kind: sum(step.outcome == kind for step in steps) for kind in MARKS}
    failed = [outcome for outcome in outcomes if outcome.failed]
    summary = (f"{len(outcomes)} scenario(s), {len(steps)} step(s): {counts['passed']} passed, "
               f"{counts['failed']} failed, {counts['skipped']} skipped")  # fmt: skip
    out.print(f"[red]{summary}[/red]" if failed else f"[green]{summary}[/green]")
    if keep_up:
        for state_dir in dict.fromkeys(o.state_dir for o in outcomes if o.state_dir):
            error_console().print(f"still running: ecert --state-dir {state_dir} down stops it")


def scenario_table(outcome: ScenarioOutcome) -> Table:
    loaded = outcome.scenario
    table = Table(
        title=f"{loaded.name} ({loaded.path})", title_justify="left",
        caption=outcome.network or None, caption_justify="left",
    )  # fmt: skip
    for column in ("#", "step", "result", "s", "note"):
        table.add_column(column, overflow="fold", justify="right" if column in "#s" else "left")
    for step in outcome.steps:
        note = step.note if step.outcome == "passed" else step.message
        table.add_row(str(step.index + 1), step.title, MARKS[step.outcome],
                      f"{step.seconds:.2f}", note)  # fmt: skip
    return table
