"""A run's report for machines (JSON), for CI (JUnit XML) and the list of checks (Markdown).

The table for people is drawn by the CLI (rich is the CLI's alone). "Not applicable" is a
JUnit ``skipped`` case with its reason, never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gateway.control import junit
from gateway.control.conformance.base import Check
from gateway.control.conformance.runner import Outcome, Report, Result
from gateway.control.junit import Case, Suite, write_junit

JSON_OUTCOMES: Mapping[Outcome, str] = MappingProxyType(
    {
        "passed": "passed",
        "failed": "failed",
        "not applicable": "not_applicable",
    }
)
JUNIT_OUTCOMES: Mapping[Outcome, junit.Outcome] = MappingProxyType(
    {
        "passed": "passed",
        "failed": "failed",
        "not applicable": "skipped",
    }
)


def clause_of(check: Check) -> str:
    return f"SPEC {check.spec}; DB23/T 2836-2021 {check.clause}"


def as_json(report: Report) -> dict[str, Any]:
    target = report.target
    return {
        "target": {
            "url": target.url,
            "account": target.account,
            "from_ip": target.from_ip,
            "other_ip": target.other_ip,
            "certificates": list(target.certificates),
            "holders": [f"{h.code}:{h.holder_type}" for h in target.holders],
        },
        "started": report.started.isoformat(),
        "summary": {name: report.count(outcome) for outcome, name in JSON_OUTCOMES.items()},
        "certificates": [
            {"CertificateID": known.certificate_id, "status": known.status}
            for known in report.findings.certificates
        ],
        "checks": [_result_json(result) for result in report.results],
    }


def _result_json(result: Result) -> dict[str, Any]:
    check = result.check
    return {
        "id": check.id,
        "title": check.title,
        "spec": check.spec,
        "clause": check.clause,
        "needs": [str(need) for need in check.needs],
        "outcome": JSON_OUTCOMES[result.outcome],
        "message": result.message,
        "seconds": round(result.seconds, 3),
        "exchanges": [exchange.as_dict() for exchange in result.exchanges],
    }


def write_report_junit(report: Report, path: Path) -> None:
    """One JUnit suite named after the URL, one case per check."""
    cases = [_case(result) for result in report.results]
    write_junit(path, [Suite(f"conformance {report.target.url}", cases)])


def _case(result: Result) -> Case:
    check = result.check
    exchanges = "\n".join(
        f"sent: {exchange.sent()}\ncame back: {exchange.came_back()}"
        for exchange in result.exchanges
    )
    return Case(
        name=check.id,
        classname=f"conformance.{check.group}",
        outcome=JUNIT_OUTCOMES[result.outcome],
        seconds=result.seconds,
        message=result.message if result.outcome != "passed" else "",
        detail=f"{result.message}\n{clause_of(check)}\n{exchanges}".strip(),
        output=f"{check.title}\n{clause_of(check)}\n{result.message}".strip(),
    )


def checks_markdown(checks: Sequence[Check]) -> str:
    """The list of checks as a Markdown table (the README's, generated so it cannot drift)."""
    lines = [
        "| check | what must hold | SPEC | DB23/T 2836-2021 | needs |",
        "|---|---|---|---|---|",
    ]
    for check in checks:
        needs = ", ".join(need.value for need in check.needs) or "–"
        lines.append(f"| `{check.id}` | {check.title} | {check.spec} | {check.clause} | {needs} |")
    return "\n".join(lines) + "\n"
