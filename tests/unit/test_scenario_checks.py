"""What a scenario run decides without a network: references, a call's answer against its
expectation, and the JUnit report of the outcomes (one case per step; a failure shows the
expected and the actual route)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from junitparser import Failure, JUnitXml, Skipped

from gateway.control.app_client import CallResult
from gateway.control.scenario import refs
from gateway.control.scenario.expect import describe, mismatches
from gateway.control.scenario.loading import LoadedScenario
from gateway.control.scenario.model import STEP_CLASSES, Scenario
from gateway.control.scenario.report import as_json, write_report
from gateway.control.scenario.runner import ScenarioOutcome, StepOutcome
from gateway.control.scenario.steps import call_params, execute
from gateway.control.scenario.values import Expect
from gateway.core.topology import load_topology

ROOT = Path(__file__).resolve().parents[2]
ISSUED = {"card": {"CertificateID": "1.2.156.X", "CertificateHolderCode": "22010219790701500X"}}


def answer(status: int = 0, route: tuple[str, ...] = ("a", "b"), **data: Any) -> CallResult:
    envelope = {"head": {"status": str(status), "message": "m"}, "data": data}
    return CallResult(envelope, list(route), [(node, 1.5) for node in route], 12.5, "rid")


# -- references -----------------------------------------------------------------------------------
def test_references_resolve_in_nested_values() -> None:
    value = {"a": ["${issued.card}", "x${issued.card.CertificateHolderCode}y"], "b": "${run.id}"}
    assert refs.resolve(value, ISSUED, "RUN1") == {
        "a": ["1.2.156.X", "x22010219790701500Xy"],
        "b": "RUN1",
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("${issued.nope}", "no earlier issue step is called 'nope'"),
        ("${issued.card.Colour}", "Colour is not a certificate field"),
        ("${card}", "is not ${issued.NAME}, ${issued.NAME.FIELD} or ${run.id}"),
        ("${issued.a.b.c}", "is not ${issued.NAME}"),
    ],
)
def test_bad_references_are_found_with_their_path(text: str, problem: str) -> None:
    [(path, message)] = list(refs.problems({"params": {"X": text}}, {"card"}))
    assert path == ("params", "X")
    assert problem in message


def test_a_step_sends_mappings_as_json_and_a_default_use_for() -> None:
    sent = call_params({"CertificateData": {"certificateHolder": "李"}, "CertificateID": "x"})
    assert sent == {
        "CertificateData": '{"certificateHolder": "李"}',
        "CertificateID": "x",
        "UseFor": "ecert scenario",
    }
    assert call_params({"UseFor": ""})["UseFor"] == ""  # an empty one stays: 12 is testable


# -- expectations ---------------------------------------------------------------------------------
def test_an_answer_that_meets_everything_has_no_mismatch() -> None:
    expect = Expect(
        status=0,
        route=["a", "b"],
        total=1,
        keys=["k"],
        fields={"dataList.0.k": "v", "total": "1"},
        max_ms=100,
    )
    assert mismatches(expect, answer(total="1", dataList=[{"k": "v"}])) == []


def test_each_broken_expectation_is_one_line() -> None:
    expect = Expect(
        status=0,
        route=["a", "c"],
        total=2,
        keys=["k", "z"],
        verifyResult=True,
        fields={"dataList.0.k": "w", "dataList.5.k": "v"},
        max_ms=5,
    )
    found = mismatches(expect, answer(10, total="1", dataList=[{"k": "v"}], verifyResult="false"))
    assert found == [
        "status: expected 0, got 10 (m)",
        "route: expected a → c, got a → b",
        "total: expected 2, got '1'",
        "keys: dataList item 0 lacks z",
        "verifyResult: expected true, got 'false'",
        "data.dataList.0.k: expected 'w', got 'v'",
        "data.dataList.5.k: expected 'v', got nothing there",
        "time: expected at most 5 ms, took 12.5 ms",
    ]


def test_a_failure_describes_the_answer_and_the_plan() -> None:
    plan = answer(plan=[{"node": "a", "decision": "up to b: no catalog entry"}])
    text = describe(answer(route=("a", "b")), plan)
    assert "route: a → b" in text
    assert "per hop: a 1.5 ms, b 1.5 ms; 12.5 ms at the application" in text
    assert "  a: up to b: no catalog entry" in text


# -- the report -----------------------------------------------------------------------------------
def outcome(tmp_path: Path) -> ScenarioOutcome:
    topology = load_topology(ROOT / "topology.yaml")
    scenario = Scenario.model_validate(
        {"topology": "t.yaml", "steps": [{"sleep": 1, "reason": "x"}] * 3}
    )
    loaded = LoadedScenario(tmp_path / "wrong.yaml", scenario, topology, (3, 5, 7))
    failed = StepOutcome(
        1,
        "call",
        "the wrong route",
        5,
        "failed",
        0.2,
        message="route: expected a → c, got a → b",
        detail="route: expected a → c, got a → b\nexplain plan (X-Ecert-Explain: 1):\n  a: up",
    )
    steps = [
        StepOutcome(0, "issue", "issue card", 3, "passed", 0.1, note="card = 1.2.156.X"),
        failed,
        StepOutcome(2, "sleep", "sleep", 7, "skipped", message="not run: step 2 failed"),
    ]
    return ScenarioOutcome(loaded, "network demo", "/tmp/x", steps=steps)


def test_junit_has_one_case_per_step_and_the_routes_in_the_failure(tmp_path: Path) -> None:
    path = tmp_path / "out.xml"
    write_report(path, [outcome(tmp_path)])
    [suite] = JUnitXml.fromfile(str(path))
    cases = list(suite)
    assert [case.name for case in cases] == ["01 issue card", "02 the wrong route", "03 sleep"]
    assert cases[0].is_passed
    [failure] = cases[1].result
    assert isinstance(failure, Failure)
    assert failure.message == "route: expected a → c, got a → b"
    assert failure.text.startswith(f"{tmp_path / 'wrong.yaml'}:5\n")
    assert "explain plan" in failure.text
    assert isinstance(cases[2].result[0], Skipped)


def test_json_counts_and_lists_every_step(tmp_path: Path) -> None:
    report = as_json([outcome(tmp_path)])
    assert report["passed"] is False
    assert report["counts"] == {"passed": 1, "failed": 1, "skipped": 1}
    [scenario] = report["scenarios"]
    assert [step["outcome"] for step in scenario["steps"]] == ["passed", "failed", "skipped"]
    assert scenario["steps"][1]["line"] == 5


def test_every_step_kind_has_its_executor() -> None:
    missing = [cls.KIND for cls in STEP_CLASSES if cls not in execute.registry]
    assert missing == []
