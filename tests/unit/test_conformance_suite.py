"""The conformance suite as data: every check listed once, with its clause, and the README's table
of checks equal to what the suite generates (so the documentation cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.control.cli.__main__ import main
from gateway.control.conformance import SUITE, suite
from gateway.control.conformance.base import Check
from gateway.control.conformance.report import checks_markdown

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- conformance-checks:[^\n]*-->\n(.*?)<!-- /conformance-checks -->", re.S)


def test_every_check_of_the_suite_module_is_in_the_list_once() -> None:
    defined = [v for v in vars(suite).values() if isinstance(v, Check)]
    defined += [*suite.ENVELOPES, *suite.STATUSES]
    assert {c.id for c in defined} == {c.id for c in SUITE}
    assert len({c.id for c in SUITE}) == len(SUITE)


@pytest.mark.parametrize("check", SUITE, ids=lambda check: check.id)
def test_each_check_says_what_must_hold_and_names_its_clause(check: Check) -> None:
    assert re.fullmatch(r"[a-z]+(\.[A-Za-z_]+)+", check.id)
    assert len(check.title) > 20
    assert check.spec.startswith("§")
    assert check.clause


def test_the_issues_topics_each_have_a_check() -> None:
    ids = {check.id for check in SUITE}
    methods = {
        "GetCertificateFileByHolder",
        "GetCertificateFileByCertificateID",
        "Retrieval",
        "GetCertificateDataByHolder",
        "GetCertificateDataByCertificateID",
        "VerifyCertificate",
        "GetCertificatePictureByCertificateID",
        "GetCertificatePictureByHolder",
        "GetCertificateType",
    }
    assert {f"envelope.{method}" for method in methods} <= ids
    assert {"token.shape", "token.same_day", "token.ip_bound", "token.unknown_account"} <= ids
    codes = {
        "missing_parameter",
        "bad_token",
        "malformed_identifier",
        "unknown_method",
        "unknown_certificate",
        "status.revoked",
        "status.expired",
        "status.restricted",
    }
    assert {f"code.{code}" for code in codes} <= ids
    assert {"files.ofd", "files.pictures", "transport.form_and_json", "forms.dates"} <= ids
    assert {"ids.certificate_id", "ids.uscc", "ids.citizen_id"} <= ids


def test_the_readme_lists_the_checks_as_the_suite_generates_them() -> None:
    found = BLOCK.search(README.read_text(encoding="utf-8"))
    assert found, "README.md has no conformance-checks block"
    assert found.group(1) == checks_markdown(SUITE), (
        "README's table of checks is stale: run `python scripts/readme_checks.py`"
    )


def test_list_checks_markdown_prints_that_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "--list-checks", "--markdown"]) == 0
    assert capsys.readouterr().out == checks_markdown(SUITE)
