"""JUnit XML reports (the format CI systems read) for scenario runs and conformance suites.

One ``Case`` per step or check, grouped in one suite per file or target; written with
``junitparser`` so the output is what JUnit consumers parse, not XML written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from junitparser import Failure, JUnitXml, Skipped, TestCase, TestSuite

Outcome = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class Case:
    """One test case: ``message`` is the one-line reason of a failure or skip, ``detail`` the
    full text (expected and actual, what was sent and what came back), ``output`` what the case
    printed on success too."""

    name: str
    classname: str
    outcome: Outcome
    seconds: float = 0.0
    message: str = ""
    detail: str = ""
    output: str = ""


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    cases: Sequence[Case]


def write_junit(path: Path, suites: Sequence[Suite]) -> None:
    """Write ``suites`` to ``path`` as one ``<testsuites>`` document (parent folders created)."""
    document = JUnitXml()
    for suite in suites:
        element = TestSuite(suite.name)
        for case in suite.cases:
            element.add_testcase(_test_case(case))
        document.add_testsuite(element)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.write(str(path), pretty=True)


def _test_case(case: Case) -> TestCase:
    element = TestCase(case.name, classname=case.classname, time=round(case.seconds, 3))
    if case.outcome == "failed":
        failure = Failure(case.message or "failed")
        failure.text = case.detail or case.message
        element.result = [failure]
    elif case.outcome == "skipped":
        skipped = Skipped(case.message or "not applicable")
        if case.detail:
            skipped.text = case.detail
        element.result = [skipped]
    if case.output:
        element.system_out = case.output
    return element
