"""``ecert scenario run`` end to end: a failing scenario's report and JUnit XML, the running
network used and left running, and runs that are interrupted, killed or failed leaving no
process behind and nothing the next ``ecert up`` trips over."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Skipped

from gateway.control.state import command_line
from gateway.control.testing import EcertNetwork
from tests.e2e.cli import ecert, stop_everything
from tests.e2e.harness import PROJECT_ROOT, provinces_shape, write_topology

WRONG_ROUTE = Path(__file__).with_name("scenarios") / "wrong_route.yaml"
FAULTS_LEFT = Path(__file__).with_name("scenarios") / "faults_left_in_force.yaml"
EXPECTED = "hlj-harbin → hlj → national → jl → jl-jilin"
ACTUAL = "hlj-harbin → hlj → national → jl → jl-changchun"
WITHIN = 60.0  # seconds for a run to reach a step, or for processes to be gone


def on(path: Path, topology: Path, source: Path = WRONG_ROUTE) -> Path:
    """``source`` written to ``path`` with its topology line naming ``topology``."""
    text = re.sub(r"^topology: .*$", f"topology: {topology}", source.read_text("utf-8"), flags=re.M)
    path.write_text(text, encoding="utf-8")
    return path


def processes_of(directory: Path | str) -> list[int]:
    """Live processes whose command line names ``directory`` (nodes and brokers of a network)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            arguments = command_line(int(entry.name)) or []
            if any(str(directory) in argument for argument in arguments):
                found.append(int(entry.name))
    return found


def wait_gone(directory: Path | str) -> None:
    deadline = time.monotonic() + WITHIN
    while processes_of(directory):
        assert time.monotonic() < deadline, f"processes of {directory} still run"
        time.sleep(0.1)


# -- on the session's demo network (the pytest plugin's) ------------------------------------------
def test_a_wrong_route_fails_showing_both_routes_in_report_and_junit(
    ecert_network: EcertNetwork, tmp_path: Path
) -> None:
    scenario = on(tmp_path / "wrong_route.yaml", ecert_network.state_dir / "topology.yaml")
    junit = tmp_path / "out.xml"
    done = ecert("--state-dir", str(ecert_network.state_dir), "scenario", "run", str(scenario),
                 "--junit", str(junit), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "using the running network" in done.stderr
    report = done.stdout
    assert f"route: expected {EXPECTED}, got {ACTUAL}" in report
    assert "explain plan (X-Ecert-Explain: 1):" in report
    assert "national: down to jl: the catalog entry points down" in report
    assert "4 step(s): 2 passed, 1 failed, 1 skipped" in report

    [suite] = JUnitXml.fromfile(str(junit))
    cases = list(suite)
    assert [case.name for case in cases] == [
        "01 issue card at jl-changchun",
        "02 wait until ${issued.card} answers 0 at hlj-harbin",
        "03 the route to Changchun, expected through Jilin",
        "04 sleep 1 s: never reached: the step before fails",
    ]
    assert [case.is_passed for case in cases[:2]] == [True, True]
    [failure] = cases[2].result
    assert isinstance(failure, Failure)
    assert f"expected {EXPECTED}, got {ACTUAL}" in failure.message
    assert f"route: {ACTUAL}" in failure.text
    assert f"expected: status 0, route {EXPECTED}" in failure.text
    assert isinstance(cases[3].result[0], Skipped)
    # the network was the running one: it still runs
    assert all(status.healthy for status in ecert_network.status())


def test_json_reports_a_passing_run_on_the_running_network(
    ecert_network: EcertNetwork, tmp_path: Path
) -> None:
    text = WRONG_ROUTE.read_text("utf-8").replace("jl, jl-jilin]", "jl, jl-changchun]")
    source = tmp_path / "right.src.yaml"
    source.write_text(text, encoding="utf-8")
    scenario = on(tmp_path / "right.yaml", ecert_network.state_dir / "topology.yaml", source)
    done = ecert("--state-dir", str(ecert_network.state_dir), "scenario", "run", str(scenario),
                 "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    assert report["passed"] is True
    assert report["counts"] == {"passed": 4, "failed": 0, "skipped": 0}
    call = report["scenarios"][0]["steps"][2]
    assert call["facts"]["route"] == ACTUAL.split(" → ")


def test_a_failing_scenario_heals_its_faults_and_saves_the_events_beside_the_junit(
    ecert_network: EcertNetwork, tmp_path: Path
) -> None:
    scenario = on(tmp_path / "faults.yaml", ecert_network.state_dir / "topology.yaml", FAULTS_LEFT)
    junit = tmp_path / "out.xml"
    done = ecert("--state-dir", str(ecert_network.state_dir), "scenario", "run", str(scenario),
                 "--junit", str(junit), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "healing the scenario's faults" in done.stderr
    [suite] = JUnitXml.fromfile(str(junit))
    # the heal step is skipped, and no case is added: healing as the scenario ended went well
    assert [(case.name[:2], case.is_passed) for case in suite] == [
        ("01", True),
        ("02", True),
        ("03", False),
        ("04", False),
    ]
    assert isinstance(list(suite)[3].result[0], Skipped)
    # healed all the same: Daqing runs again, Changchun holds no fault
    assert all(status.healthy for status in ecert_network.status())
    assert ecert_network.admin("jl-changchun", "GET", "/admin/faults")["faults"] == []
    assert ecert_network.call("hlj-daqing", "GetCertificateType").status == 0

    events = [json.loads(line) for line in (tmp_path / "out.events.jsonl").read_text().splitlines()]
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    assert {e["scenario"] for e in events} == {"faults left in force by a failing scenario"}
    faults = {(e["event"], e.get("node"), e.get("kind")) for e in events if "fault" in e["event"]}
    assert faults >= {("fault.applied", "jl-changchun", "error"),
                      ("fault.healed", "jl-changchun", "error"),
                      ("fault.applied", "hlj-daqing", "kill"),
                      ("fault.healed", "hlj-daqing", "kill")}  # fmt: skip


# -- networks a run starts itself -----------------------------------------------------------------
@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A network of four nodes and a scenario on it whose one step sleeps until stopped."""
    topology = write_topology(tmp_path, shape=provinces_shape(1, 2), ack_timeout=1.0)
    scenario = tmp_path / "sleeper.yaml"
    scenario.write_text(
        f"topology: {topology}\nper_node: 3\n"
        "steps:\n  - sleep: 600\n    reason: stopped by the test\n",
        encoding="utf-8",
    )
    return scenario


class Run:
    """``ecert scenario run`` in the background, its stderr read line by line."""

    def __init__(self, *args: str, cwd: Path):
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.control.cli", "--state-dir", str(cwd / "none"),
             "scenario", "run", *args],
            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.workdir = ""

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + WITHIN
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            started = re.search(r"starting network \S+ in (\S+)", line)
            if started:
                self.workdir = started.group(1)
            if text in line:
                return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WITHIN)
        self.reader.join(timeout=WITHIN)  # it ends at the pipe's end
        assert self.process.stderr is not None
        self.process.stderr.close()


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.stop()
        if run.workdir:
            stop_everything(Path(run.workdir) / "state")
            shutil.rmtree(run.workdir, ignore_errors=True)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_stops_what_it_started(
    small: Path, runs: list[Run], signum: int, code: int
) -> None:
    run = Run(str(small), cwd=small.parent)
    runs.append(run)
    run.wait_for("step 1/1")
    assert processes_of(run.workdir)  # the network runs
    run.process.send_signal(signum)
    assert run.process.wait(timeout=WITHIN) == code
    assert processes_of(run.workdir) == []
    assert not Path(run.workdir).exists()  # nothing failed: nothing kept


def test_a_killed_run_leaves_nothing_the_next_up_trips_over(
    small: Path, runs: list[Run], tmp_path: Path
) -> None:
    run = Run(str(small), "--keep-addresses", cwd=small.parent)  # the file's own ports
    runs.append(run)
    run.wait_for("step 1/1")
    run.process.kill()
    run.process.wait(timeout=WITHIN)
    wait_gone(run.workdir)  # the kernel told every node its owner died

    topology = small.parent / "topology.yaml"
    state = tmp_path / "after"
    try:
        up = ecert("--state-dir", str(state), "up", str(topology), "--per-node", "3", "--wait",
                   cwd=tmp_path)  # fmt: skip
        assert up.returncode == 0, up.stderr
    finally:
        ecert("--state-dir", str(state), "down", cwd=tmp_path)
        stop_everything(state)


def test_a_failed_run_stops_the_network_it_started(small: Path, tmp_path: Path) -> None:
    failing = small.parent / "failing.yaml"
    failing.write_text(
        small.read_text("utf-8").replace(
            "  - sleep: 600\n    reason: stopped by the test\n",
            "  - call: GetCertificateType\n    node: p1-c1\n    expect: {route: [p1-c1]}\n",
        ),
        encoding="utf-8",
    )
    done = ecert("--state-dir", str(tmp_path / "none"), "scenario", "run", str(failing),
                 "--keep-addresses", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1
    assert "route: expected p1-c1, got p1-c1 → p1 → national" in done.stdout
    workdir = re.search(r"starting network \S+ in (\S+)", done.stderr)
    assert workdir is not None
    assert processes_of(workdir.group(1)) == []
    assert f"its logs are in {workdir.group(1)}" in done.stderr
    shutil.rmtree(workdir.group(1))
