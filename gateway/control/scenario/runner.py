"""Running loaded scenarios: a network for each, the steps in order, an outcome per step.

Scenarios that name the same network (topology, seed and ``per_node``) share one. The network
running in the state directory is used when its topology is the scenario's and every node runs;
otherwise the runner starts one in a temporary directory, on fresh loopback addresses and free
ports unless told to keep the file's, and stops it when its scenarios are done, however they end
(a failure, Ctrl-C, SIGTERM). Its processes are tied to the runner: should the runner itself be
killed, Linux sends them SIGTERM. Every network is waited on until it has settled
(``gateway.control.settle``) before the first step.

In a scenario, the first failed step ends it: the steps after it are reported as skipped. The
faults it left in force are healed as it ends (a failure to heal is one more failed step). Each
outcome holds the event stream of its network while the scenario ran (``<state>/events``), so it
is kept even when the network's directory is removed.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiohttp

from gateway.control.events import EventFilter, read_events
from gateway.control.launcher import Launcher
from gateway.control.relocate import relocated, topology_yaml
from gateway.control.scenario.loading import LoadedScenario
from gateway.control.scenario.model import StepBase
from gateway.control.scenario.steps import RunContext, StepFailed, execute
from gateway.control.settle import wait_settled
from gateway.control.state import StateDir
from gateway.core.errors import GatewayError
from gateway.core.events import timestamp
from gateway.core.topology import Topology, load_topology

SETTLE_WITHIN = 120.0  # seconds for a network to settle before the first step
FLUSH_GRACE = 0.5  # seconds: nodes write their events every 0.2 s (gateway.core.events)
T = TypeVar("T")
Record = dict[str, Any]
Outcome = Literal["passed", "failed", "skipped"]
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class RunOptions:
    state_dir: Path  # where a running network is looked for
    keep_up: bool = False  # leave the networks the runner started running
    relocate: bool = True  # start networks on fresh addresses and ports
    settle_within: float = SETTLE_WITHIN


@dataclass(frozen=True, slots=True)
class StepOutcome:
    index: int  # 0-based
    kind: str
    title: str
    line: int
    outcome: Outcome
    seconds: float = 0.0
    note: str = ""  # what a passed step did
    message: str = ""  # one line: why it failed or was skipped
    detail: str = ""  # expected and actual, the explain plan
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ScenarioOutcome:
    scenario: LoadedScenario
    network: str = ""  # which network, in words
    state_dir: str = ""
    setup_error: str = ""  # the network could not be had
    started: str = ""  # the ``ts`` when its first step began
    steps: list[StepOutcome] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # the stream while it ran

    @property
    def failed(self) -> bool:
        return bool(self.setup_error) or any(step.outcome == "failed" for step in self.steps)


@dataclass(slots=True)
class _Network:
    launcher: Launcher
    description: str
    started: bool
    failed: bool = False
    since: str = field(default_factory=lambda: timestamp(time.time()))
    events: list[Record] = field(default_factory=list)  # its stream from ``since``, at the end


async def run_scenarios(
    scenarios: Sequence[LoadedScenario], options: RunOptions, progress: Progress
) -> list[ScenarioOutcome]:
    """Run every scenario; one outcome each, in the order given."""
    groups: dict[tuple[str, int | None, int], list[int]] = {}
    for index, loaded in enumerate(scenarios):
        key = (topology_yaml(loaded.topology), loaded.scenario.seed, loaded.scenario.per_node)
        groups.setdefault(key, []).append(index)
    outcomes: dict[int, ScenarioOutcome] = {}
    for indexes in groups.values():
        first = scenarios[indexes[0]]
        try:
            async with _network(first, options, progress) as network:
                for index in indexes:
                    outcome = await run_scenario(scenarios[index], network, progress)
                    network.failed |= outcome.failed
                    outcomes[index] = outcome
            _share_events(network.events, [outcomes[index] for index in indexes])
        except (GatewayError, aiohttp.ClientError, OSError) as exc:
            for index in indexes:
                outcomes.setdefault(index, _not_run(scenarios[index], str(exc)))
    return [outcomes[index] for index in range(len(scenarios))]


def _share_events(records: list[Record], outcomes: list[ScenarioOutcome]) -> None:
    """Each record to the scenario that was running when it was written (those of the network's
    start to the first), tagged with the scenario's name."""
    for record in records:
        at = str(record.get("ts", ""))
        owner = next((o for o in reversed(outcomes) if o.started <= at), outcomes[0])
        owner.events.append({**record, "scenario": owner.scenario.name})


async def run_scenario(
    loaded: LoadedScenario, network: _Network, progress: Progress
) -> ScenarioOutcome:
    launcher = network.launcher
    outcome = ScenarioOutcome(loaded, network.description, str(launcher.state.root),
                              started=timestamp(time.time()))  # fmt: skip
    steps = loaded.scenario.steps
    failed_at: int | None = None
    async with RunContext(launcher) as ctx:
        for index, step in enumerate(steps):
            line = loaded.step_lines[index]
            if failed_at is not None:
                why = f"not run: step {failed_at + 1} failed"
                outcome.steps.append(
                    StepOutcome(index, step.KIND, step.title(), line, "skipped", message=why)
                )
                continue
            progress(f"{loaded.path}: step {index + 1}/{len(steps)} {step.title()}")
            done = await _run_step(step, ctx, index, line)
            outcome.steps.append(done)
            if done.outcome == "failed":
                failed_at = index
        if ctx.in_force:
            progress(f"{loaded.path}: healing the scenario's faults")
            healed = await _heal_left(ctx, len(steps), loaded.step_lines[-1])
            if healed is not None:
                outcome.steps.append(healed)
    return outcome


async def _heal_left(ctx: RunContext, index: int, line: int) -> StepOutcome | None:
    """The faults a scenario left in force, healed as it ends: an outcome only if that failed."""
    try:
        await ctx.heal_all()
    except StepFailed as exc:
        return StepOutcome(index, "heal", "heal the faults left in force", line, "failed",
                           message=exc.message)  # fmt: skip
    except (GatewayError, aiohttp.ClientError, OSError) as exc:
        return StepOutcome(index, "heal", "heal the faults left in force", line, "failed",
                           message=str(exc))  # fmt: skip
    return None


async def _run_step(step: StepBase, ctx: RunContext, index: int, line: int) -> StepOutcome:
    base = StepOutcome(index, step.KIND, step.title(), line, "skipped")
    started = time.monotonic()
    try:
        passed = await execute(step, ctx)
    except StepFailed as exc:
        return replace(base, outcome="failed", seconds=time.monotonic() - started,
                       message=exc.message, detail=exc.detail, facts=exc.facts)  # fmt: skip
    except (GatewayError, aiohttp.ClientError, OSError) as exc:
        seconds = time.monotonic() - started
        return replace(base, outcome="failed", seconds=seconds, message=str(exc))
    return replace(base, outcome="passed", seconds=time.monotonic() - started,
                   note=passed.note, facts=passed.facts)  # fmt: skip


def _not_run(loaded: LoadedScenario, why: str) -> ScenarioOutcome:
    outcome = ScenarioOutcome(loaded, setup_error=why)
    for index, step in enumerate(loaded.scenario.steps):
        line = loaded.step_lines[index]
        outcome.steps.append(
            StepOutcome(index, step.KIND, step.title(), line, "skipped", message="not run: " + why)
        )
    return outcome


# -- networks -------------------------------------------------------------------------------------
def running_match(state_dir: Path, topology: Topology) -> Launcher | None:
    """The network running in ``state_dir`` when it is ``topology`` and every node runs."""
    copy = StateDir(state_dir).topology_path
    if not copy.exists():
        return None
    try:
        if load_topology(copy) != topology:
            return None
    except GatewayError:
        return None
    launcher = Launcher.from_state(state_dir)
    running = launcher.running()
    return launcher if all(node.id in running for node in topology.nodes) else None


@asynccontextmanager
async def _network(
    loaded: LoadedScenario, options: RunOptions, progress: Progress
) -> AsyncIterator[_Network]:
    topology = loaded.topology
    reused = running_match(options.state_dir, topology)
    if reused is not None:
        where = f"the running network {topology.network} in {reused.state.root}"
        progress(f"using {where}")
        await wait_settled(reused, within=options.settle_within)
        network = _Network(reused, where, started=False)
        yield network
        await asyncio.sleep(FLUSH_GRACE)  # the nodes' last events, still in their memory
        network.events = read_events(reused.state, EventFilter(since=network.since))
        return
    workdir = Path(tempfile.mkdtemp(prefix="ecert-scenario-"))
    path = workdir / "topology.yaml"
    path.write_text(topology_yaml(relocated(topology) if options.relocate else topology), "utf-8")
    scenario = loaded.scenario
    launcher = Launcher(path, workdir / "state", seed=scenario.seed, per_node=scenario.per_node,
                        die_with_owner=not options.keep_up)  # fmt: skip
    network = _Network(launcher, f"network {topology.network} started in {workdir}", started=True)
    try:
        progress(f"starting network {topology.network} in {workdir}")
        await launcher.up()
        await wait_settled(launcher, within=options.settle_within)
        progress(f"network {topology.network} is up and settled")
        yield network
        if options.keep_up:
            await asyncio.sleep(FLUSH_GRACE)  # as for a running network
            network.events = read_events(launcher.state, EventFilter(since=network.since))
    except Exception:  # not an interrupt: its logs are worth keeping
        network.failed = True
        raise
    finally:
        if not options.keep_up:
            await _to_the_end(launcher.down())  # the nodes write what they hold as they stop
            network.events = read_events(launcher.state, EventFilter(since=network.since))
            if network.failed:
                progress(f"network {topology.network} stopped; its logs are in {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
                progress(f"network {topology.network} stopped")


async def _to_the_end(work: Awaitable[T]) -> T:
    """Await ``work`` to its end, even when this task is cancelled meanwhile (a second Ctrl-C
    must not leave processes behind)."""
    task = asyncio.ensure_future(work)
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise
