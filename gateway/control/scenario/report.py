"""Scenario outcomes as JUnit XML (one suite per scenario, one case per step) and as JSON; the
event stream of the run as JSON lines beside the XML."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from gateway.control.junit import Case, Suite, write_junit
from gateway.control.scenario.runner import ScenarioOutcome, StepOutcome


def case_name(step: StepOutcome) -> str:
    return f"{step.index + 1:02d} {step.title}"


def suites(outcomes: Sequence[ScenarioOutcome]) -> list[Suite]:
    """A network that could not be had is a failed case ``00 network`` before the steps."""
    found = []
    for outcome in outcomes:
        loaded = outcome.scenario
        classname = f"scenario.{loaded.path.stem}"
        cases = []
        if outcome.setup_error:
            cases.append(Case("00 network", classname, "failed", message=outcome.setup_error,
                              detail=outcome.setup_error))  # fmt: skip
        for step in outcome.steps:
            where = f"{loaded.path}:{step.line}"
            cases.append(
                Case(
                    case_name(step),
                    classname,
                    step.outcome,
                    seconds=step.seconds,
                    message=step.message,
                    detail=f"{where}\n{step.detail or step.message}" if step.message else "",
                    output=step.note,
                )
            )
        found.append(Suite(loaded.name, cases))
    return found


def write_report(path: Path, outcomes: Sequence[ScenarioOutcome]) -> Path:
    """The JUnit XML at ``path``, and the run's events beside it: where those went."""
    write_junit(path, suites(outcomes))
    events = events_path(path)
    write_events(events, outcomes)
    return events


def events_path(junit: Path) -> Path:
    """``out.xml`` → ``out.events.jsonl``."""
    return junit.with_name(f"{junit.stem}.events.jsonl")


def write_events(path: Path, outcomes: Sequence[ScenarioOutcome]) -> None:
    """Every scenario's events in time order, one JSON object a line, each with ``scenario``."""
    records = sorted((record for outcome in outcomes for record in outcome.events),
                     key=lambda record: str(record.get("ts", "")))  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for record in records:
            out.write(orjson.dumps(record) + b"\n")


def as_json(outcomes: Sequence[ScenarioOutcome]) -> dict[str, Any]:
    counts = dict.fromkeys(("passed", "failed", "skipped"), 0)
    for outcome in outcomes:
        for step in outcome.steps:
            counts[step.outcome] += 1
    return {
        "passed": not any(outcome.failed for outcome in outcomes),
        "counts": counts,
        "scenarios": [_scenario_json(outcome) for outcome in outcomes],
    }


def _scenario_json(outcome: ScenarioOutcome) -> dict[str, Any]:
    return {
        "file": str(outcome.scenario.path),
        "name": outcome.scenario.name,
        "network": outcome.network,
        "state_dir": outcome.state_dir,
        "setup_error": outcome.setup_error or None,
        "passed": not outcome.failed,
        "steps": [
            {
                "step": step.index + 1,
                "kind": step.kind,
                "name": step.title,
                "line": step.line,
                "outcome": step.outcome,
                "seconds": round(step.seconds, 3),
                "note": step.note,
                "message": step.message,
                "detail": step.detail,
                "facts": step.facts,
            }
            for step in outcome.steps
        ],
    }
