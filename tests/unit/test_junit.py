"""JUnit reports parse back with their outcomes, reasons and details (what CI reads)."""

from __future__ import annotations

from pathlib import Path

from junitparser import Failure, JUnitXml, Skipped

from gateway.control.junit import Case, Suite, write_junit


def test_a_report_parses_back_with_each_outcome(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "out.xml"
    write_junit(
        path,
        [
            Suite(
                "routing.yaml",
                [
                    Case("call hlj-harbin", "routing", "passed", 0.012, output="route ok"),
                    Case(
                        "call jl",
                        "routing",
                        "failed",
                        0.5,
                        message="route differs",
                        detail="expected: a,b\nactual: a,c",
                    ),
                    Case("files", "routing", "skipped", message="not applicable: no file"),
                ],
            )
        ],
    )
    document = JUnitXml.fromfile(str(path))
    (suite,) = list(document)
    assert (suite.name, suite.tests, suite.failures, suite.skipped) == ("routing.yaml", 3, 1, 1)
    passed, failed, skipped = list(suite)
    assert passed.is_passed
    assert passed.system_out == "route ok"
    (failure,) = failed.result
    assert isinstance(failure, Failure)
    assert failure.message == "route differs"
    assert failure.text == "expected: a,b\nactual: a,c"
    (skip,) = skipped.result
    assert isinstance(skip, Skipped)
    assert skip.message == "not applicable: no file"
