"""Reading scenario files: YAML, the models, then the network they name — all before any run.

Every problem is reported with the file, the line and the step (``ScenarioInvalid``): YAML that
does not parse, a key or type the schema does not allow, an unknown step kind, method or node,
a reference to a certificate no earlier step issued, a topology file that cannot be read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gateway.control.errors import ScenarioInvalid, ScenarioProblem
from gateway.control.scenario import refs
from gateway.control.scenario.model import (
    STEP_KINDS,
    Fault,
    Heal,
    Issue,
    Loc,
    Scenario,
    StepBase,
    step_kind,
)
from gateway.control.scenario.values import ALL_FAULTS
from gateway.core.errors import TopologyError
from gateway.core.topology import Topology, load_topology

_TOPOLOGY_TAGS = ("path", "inline")


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    """A scenario that passed every check, with the network it runs on."""

    path: Path
    scenario: Scenario
    topology: Topology
    step_lines: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.scenario.name or self.path.stem


def load_scenarios(paths: Sequence[Path]) -> list[LoadedScenario]:
    """Every file loaded and checked; ``ScenarioInvalid`` listing the problems of all of them."""
    loaded: list[LoadedScenario] = []
    problems: list[ScenarioProblem] = []
    for path in paths:
        try:
            loaded.append(load_scenario(path))
        except ScenarioInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioInvalid(problems)
    return loaded


def load_scenario(path: Path) -> LoadedScenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = ScenarioProblem(str(path), None, None, f"cannot read: {exc}")
        raise ScenarioInvalid([problem]) from None
    source = _Source(path, text)
    raw = source.parse()
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = [source.pydantic_problem(error, raw) for error in exc.errors()]
        raise ScenarioInvalid(problems) from None
    topology = source.topology(scenario)
    problems = list(source.step_problems(scenario.steps, topology))
    if problems:
        raise ScenarioInvalid(problems)
    lines = tuple(source.line(("steps", index)) or 1 for index in range(len(scenario.steps)))
    return LoadedScenario(path, scenario, topology, lines)


class _Source:
    """One scenario file: its text, its YAML nodes (for lines) and its problems."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.text = text
        self.root: yaml.Node | None = None
        self.raw: Any = None

    def problem(self, loc: Loc, message: str, *, step: int | None = None) -> ScenarioProblem:
        kind = None if step is None else step_kind(_at(self.raw, ("steps", step)))
        return ScenarioProblem(str(self.path), self.line(loc), step, message, kind)

    def parse(self) -> Any:
        try:
            self.root = yaml.compose(self.text, Loader=yaml.SafeLoader)
            raw = self.raw = yaml.safe_load(self.text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", None) or str(exc)
            raise ScenarioInvalid(
                [ScenarioProblem(str(self.path), line, None, f"not valid YAML: {problem}")]
            ) from None
        if not isinstance(raw, dict):
            raise ScenarioInvalid([self.problem((), "a scenario is a mapping (name, steps, …)")])
        return raw

    # -- lines ------------------------------------------------------------------------------------
    def line(self, loc: Loc) -> int | None:
        """The 1-based line of the deepest YAML node on ``loc``'s path."""
        node, line = self.root, None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                found = next((pair for pair in node.value if pair[0].value == str(part)), None)
                if found is None:
                    break
                line, node = found[0].start_mark.line + 1, found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    # -- pydantic's findings ----------------------------------------------------------------------
    def pydantic_problem(self, error: Any, raw: dict[str, Any]) -> ScenarioProblem:
        loc = _without_tags(tuple(error["loc"]))
        message = str(error["msg"])
        if error["type"] == "step_kind":
            message = _kind_message(_at(raw, loc))
        if loc[:1] == ("steps",) and len(loc) >= 2 and isinstance(loc[1], int):
            where = ".".join(str(part) for part in loc[2:])
            return self.problem(loc, f"{where}: {message}" if where else message, step=loc[1])
        where = ".".join(str(part) for part in loc) or "scenario"
        return self.problem(loc, f"{where}: {message}")

    # -- the network ------------------------------------------------------------------------------
    def topology(self, scenario: Scenario) -> Topology:
        if isinstance(scenario.topology, Topology):
            return scenario.topology
        path = (self.path.parent / scenario.topology).resolve()
        try:
            return load_topology(path)
        except TopologyError as exc:
            raise ScenarioInvalid(
                [self.problem(("topology",), f"topology {scenario.topology}: {exc}")]
            ) from None

    def step_problems(
        self, steps: Sequence[StepBase], topology: Topology
    ) -> Iterable[ScenarioProblem]:
        issued: set[str] = set()
        faulted: set[str] = set()
        for index, step in enumerate(steps):
            at: Loc = ("steps", index)
            for loc, node_id in step.node_refs():
                if node_id not in topology.by_id:
                    message = f"no node {node_id!r} in network {topology.network}"
                    yield self.problem((*at, *loc), f"{_dotted(loc)}: {message}", step=index)
            for loc, message in step.problems(topology):
                yield self.problem((*at, *loc), f"{_dotted(loc)}: {message}", step=index)
            body = step.model_dump(by_alias=True, exclude={"name"})
            for loc, message in refs.problems(body, issued):
                yield self.problem((*at, *loc), f"{_dotted(loc)}: {message}", step=index)
            named = step.issue if isinstance(step, Issue) else getattr(step, "previous", None)
            if named is not None:
                if named in issued:
                    message = f"{step.KIND}: {named!r} names an earlier certificate already"
                    key = "issue" if isinstance(step, Issue) else "previous"
                    yield self.problem((*at, key), message, step=index)
                issued.add(named)
            yield from (self.problem((*at, *loc), message, step=index)
                        for loc, message in _fault_names(step, faulted))  # fmt: skip


def _fault_names(step: StepBase, faulted: set[str]) -> Iterable[tuple[Loc, str]]:
    """A fault step's name is new; a heal step's is an earlier fault step's (or ``all``)."""
    if isinstance(step, Fault):
        if step.fault in faulted:
            yield ("fault",), f"fault: {step.fault!r} names an earlier fault already"
        faulted.add(step.fault)
    elif isinstance(step, Heal) and step.heal != ALL_FAULTS and step.heal not in faulted:
        known = ", ".join(sorted(faulted)) or "none yet"
        yield ("heal",), f"heal: no earlier fault step is named {step.heal!r} (named: {known})"


def _without_tags(loc: Loc) -> Loc:
    """pydantic's path without the union tags it inserts (step kinds, topology forms)."""
    if len(loc) >= 3 and loc[0] == "steps" and loc[2] in STEP_KINDS:
        loc = (*loc[:2], *loc[3:])
    if len(loc) >= 2 and loc[0] == "topology" and loc[1] in _TOPOLOGY_TAGS:
        loc = (loc[0], *loc[2:])
    return loc


def _at(raw: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def _kind_message(step: Any) -> str:
    kinds = ", ".join(STEP_KINDS)
    if not isinstance(step, dict):
        return f"a step is a mapping with one of: {kinds}"
    named = [key for key in step if key in STEP_KINDS]
    if named:
        return f"a step has one kind, this one has {len(named)}: {', '.join(named)}"
    keys = ", ".join(map(str, step)) or "nothing"
    return f"unknown step kind (found {keys}); a step names exactly one of: {kinds}"


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)
