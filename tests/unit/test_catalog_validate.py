"""Every validation rule of SPEC §6.2 c rejects its row with its own error_remark, and only that,
whether the row comes as an array of values (as catalog messages carry rows) or as an object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodes.catalog import validate as v
from nodes.model.identifiers import (
    ALNUM36,
    USCC_CHARSET,
    is_certificate_id,
    is_citizen_id,
    is_uscc,
    make_uscc,
)
from nodes.store.schema import MESSAGE_COLUMNS
from tests.unit.test_catalog_support import make_row, topology

TODAY = "2026-01-01"
HARBIN = v.sender_of(topology(), "hlj-harbin")


def remarks_of(row: Any, sender: v.Sender = HARBIN) -> list[str]:
    verdict = v.validate_rows([row], sender, today=TODAY, cd_batch="hlj-harbin-1")
    assert len(verdict.valid) + bool(verdict.anomalies) == 1
    return [anomaly["error_remark"] for anomaly in verdict.anomalies]


def values_of(row: dict[str, Any]) -> list[Any]:
    """A row as a catalog message carries it: its MESSAGE_COLUMNS values."""
    return [row[column] for column in MESSAGE_COLUMNS]


def changed(**columns: str) -> dict[str, str]:
    return {**make_row(7), **columns}


def wrong_check(certificate_id: str) -> str:
    check = certificate_id[-1]
    return certificate_id[:-1] + ("0" if check != "0" else "1")


CASES: list[tuple[str, Callable[[], Any], str]] = [
    ("not an object", lambda: ["a", "list"], v.MALFORMED_ROW),
    (
        "wrong check character",
        lambda: changed(certificate_source_id=wrong_check(make_row(7)["certificate_source_id"])),
        v.BAD_CERTIFICATE_ID,
    ),
    (
        "malformed CertificateID",
        lambda: changed(certificate_source_id="1.2.156.X"),
        v.BAD_CERTIFICATE_ID,
    ),
    (
        "area of another city",
        lambda: changed(certificate_area_code="230602"),
        v.OUTSIDE_JURISDICTION,
    ),
    (
        "not a GB/T 2260 code",
        lambda: changed(certificate_area_code="990100"),
        v.OUTSIDE_JURISDICTION,
    ),
    (
        "citizen id check",
        lambda: changed(certificate_holder_code="11010519491231002Y"),
        v.BAD_HOLDER_CODE,
    ),
    (
        "USCC holder check",
        lambda: changed(
            certificate_holder_type="001", certificate_holder_code="91610800064834709A"
        ),
        v.BAD_HOLDER_CODE,
    ),
    (
        "holder type outside A.2",
        lambda: changed(certificate_holder_type="123"),
        v.UNKNOWN_HOLDER_TYPE,
    ),
    ("issuer not a USCC", lambda: changed(issue_dept_code="11230100MB000000X1"), v.BAD_ISSUER_CODE),
    ("not a date", lambda: changed(issue_date="2020-13-01"), v.BAD_ISSUE_DATE),
    ("issued tomorrow", lambda: changed(issue_date="2026-01-02"), v.BAD_ISSUE_DATE),
    ("cd_time not a time", lambda: changed(cd_time="yesterday"), v.BAD_CD_TIME),
    ("another city's data source", lambda: changed(data_source="106"), v.FOREIGN_DATA_SOURCE),
    ("unknown operation", lambda: changed(cd_operation="X"), v.UNKNOWN_OPERATION),
]


@pytest.mark.parametrize(("build", "remark"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_rejects_with_its_own_remark(build: Callable[[], Any], remark: str) -> None:
    assert remarks_of(build()) == [remark]


@pytest.mark.parametrize("column", v.REQUIRED_COLUMNS)
def test_an_empty_required_column_is_named_in_the_remark(column: str) -> None:
    expected = f"必填项为空: {column} (required column is empty)"
    assert remarks_of(changed(**{column: "  "})) == [expected]


def test_a_missing_column_counts_as_empty() -> None:
    row = make_row(7)
    del row["certificate_holder"]
    assert remarks_of(row) == [v.REQUIRED_EMPTY.format(column="certificate_holder")]


RULE_REMARKS = [
    v.MALFORMED_ROW,
    v.BAD_CERTIFICATE_ID,
    v.OUTSIDE_JURISDICTION,
    v.BAD_HOLDER_CODE,
    v.UNKNOWN_HOLDER_TYPE,
    v.BAD_ISSUER_CODE,
    v.BAD_ISSUE_DATE,
    v.BAD_CD_TIME,
    v.FOREIGN_DATA_SOURCE,
    v.UNKNOWN_OPERATION,
    v.OWNED_ELSEWHERE,
    v.UNKNOWN_TYPE,
]


def test_every_rule_has_a_distinct_chinese_remark_and_a_case_here() -> None:
    remarks = RULE_REMARKS + [v.REQUIRED_EMPTY.format(column=c) for c in v.REQUIRED_COLUMNS]
    assert len(set(remarks)) == len(remarks)
    assert all("\u4e00" <= remark[0] <= "\u9fff" for remark in remarks)
    assert {case[2] for case in CASES} | {v.OWNED_ELSEWHERE, v.UNKNOWN_TYPE} == set(RULE_REMARKS)


@pytest.mark.parametrize("shape", [dict, values_of])
def test_a_type_code_outside_the_parents_type_catalogue_is_refused(shape: Any) -> None:
    row = make_row(7)
    known = replace(HARBIN, type_codes=frozenset({"X" * 21}))
    assert remarks_of(shape(row), known) == [v.UNKNOWN_TYPE]
    knowing = replace(HARBIN, type_codes=frozenset({row["certificate_type_code"]}))
    assert remarks_of(shape(row), knowing) == []
    assert remarks_of(shape(row)) == []  # no catalogue given: not checked


def test_optional_holder_type_may_be_empty_and_chinese_dates_are_normalised() -> None:
    verdict = v.validate_rows(
        [changed(certificate_holder_type="", issue_date="2020年3月1日")],
        HARBIN,
        today=TODAY,
        cd_batch="hlj-harbin-1",
    )
    assert verdict.anomalies == []
    assert dict(zip(MESSAGE_COLUMNS, verdict.valid[0], strict=True))["issue_date"] == "2020-03-01"


def test_a_row_breaking_several_rules_gets_every_remark() -> None:
    remarks = remarks_of(changed(data_source="106", cd_operation="X", certificate_holder=""))
    assert remarks == [
        v.REQUIRED_EMPTY.format(column="certificate_holder"),
        v.FOREIGN_DATA_SOURCE,
        v.UNKNOWN_OPERATION,
    ]


def test_the_rest_of_a_batch_is_valid_when_one_row_is_bad() -> None:
    rows = [make_row(serial) for serial in range(10)]
    rows[4] = {**rows[4], "data_source": "999"}
    verdict = v.validate_rows(rows, HARBIN, today=TODAY, cd_batch="hlj-harbin-1")
    assert len(verdict.valid) == 9
    assert [(a["certificate_source_id"], a["error_remark"]) for a in verdict.anomalies] == [
        (rows[4]["certificate_source_id"], v.FOREIGN_DATA_SOURCE)
    ]
    assert [list(values) for values in verdict.valid] == [
        values_of(row) for i, row in enumerate(rows) if i != 4
    ]
    assert all(row["cd_batch"] == "hlj-harbin-1" for row in verdict.anomalies)


def test_the_same_anomaly_twice_in_a_batch_is_one_e2_row() -> None:
    row = changed(data_source="999")
    verdict = v.validate_rows(
        [row, {**row, "cd_operation": "U"}], HARBIN, today=TODAY, cd_batch="b-1"
    )
    assert len(verdict.anomalies) == 1


def test_a_city_forwards_its_departments_rows_and_a_province_its_subtree() -> None:
    topo = topology()
    assert remarks_of(changed(data_source="011")) == []  # hlj-harbin-amr below hlj-harbin
    province = v.sender_of(topo, "hlj")
    assert province.data_sources == {"000", "101", "011", "106"}
    assert province.jurisdiction == "23"
    assert remarks_of(changed(certificate_area_code="230602", data_source="106"), province) == []
    assert remarks_of(changed(certificate_area_code="220102"), province) == [v.OUTSIDE_JURISDICTION]


def test_a_ministry_may_report_any_valid_area() -> None:
    ministry = v.sender_of(topology(), "mot")
    assert ministry.jurisdiction is None
    assert remarks_of(changed(certificate_area_code="440300", data_source="000"), ministry) == []
    assert remarks_of(changed(certificate_area_code="990000", data_source="000"), ministry) == [
        v.OUTSIDE_JURISDICTION
    ]


def test_non_string_values_are_judged_as_text() -> None:
    assert remarks_of(changed(cd_operation=None, certificate_number=12345)) == [  # type: ignore[arg-type]
        v.REQUIRED_EMPTY.format(column="cd_operation")
    ]


# -- a batch is screened column by column: the screen must never clear a row a rule rejects ----
_SPOILERS: list[Callable[[int], Any]] = [
    *(
        lambda serial, case=case: {**make_row(serial), **case}
        for case in (
            {"data_source": "106"},
            {"cd_operation": "X"},
            {"cd_time": "yesterday"},
            {"issue_date": "2026-01-02"},
            {"issue_date": "2020年1月2日"},  # valid once normalised: a rewritten row
            {"issue_dept_code": "11230100MB000000X1"},
            {"certificate_area_code": "230602"},
            {"certificate_holder_type": "123"},
            {"certificate_holder_code": "11010519491231002Y"},
            {"certificate_holder_type": "", "certificate_holder_code": " "},
            {"certificate_number": 12345},
            {"certificate_name": ["a", "list"]},  # unhashable
            {"certificate_holder_type": 111},
            {"certificate_source_id": None},
            {"cd_batch": 7},  # replaced by the parent's stamp: no anomaly
            {"extra": "column"},
        )
    ),
    *(
        lambda serial, column=column: {**make_row(serial), column: " "}
        for column in v.REQUIRED_COLUMNS
    ),
    lambda serial: {
        **make_row(serial),
        "certificate_source_id": wrong_check(make_row(serial)["certificate_source_id"]),
    },
    lambda serial: ["not", "a", "row"],
    # rows as a catalog message carries them: arrays of the MESSAGE_COLUMNS values
    lambda serial: values_of(make_row(serial)),
    lambda serial: values_of({**make_row(serial), "data_source": "106"}),
    lambda serial: values_of({**make_row(serial), "issue_date": "2020年1月2日"}),
    lambda serial: values_of({**make_row(serial), "certificate_number": 12345}),
    lambda serial: values_of({**make_row(serial), "certificate_name": ["a", "list"]}),
    lambda serial: values_of(make_row(serial))[:-1],  # one value short: not a row
]


@given(st.lists(st.integers(-1, len(_SPOILERS) - 1), min_size=1, max_size=40))
def test_a_batch_is_judged_as_its_rows_are_one_by_one(kinds: list[int]) -> None:
    """Whatever mix of valid and broken rows, the verdict on the batch is the rule-by-rule
    verdict on each row (``row_remarks``), in batch order."""
    rows = [make_row(i) if kind < 0 else _SPOILERS[kind](i) for i, kind in enumerate(kinds)]
    expected_valid: list[v.Row] = []
    expected_anomalies: list[v.Row] = []
    for sent in rows:
        raw = sent
        if isinstance(sent, list) and len(sent) == len(MESSAGE_COLUMNS):
            raw = dict(zip(MESSAGE_COLUMNS, sent, strict=True))
        if not isinstance(raw, dict):
            v.add_anomalies(expected_anomalies, v.clean_row({}, "b-1"), [v.MALFORMED_ROW])
            continue
        row = v.clean_row(dict(raw), "b-1")
        remarks = v.row_remarks(row, HARBIN, TODAY)
        if remarks:
            v.add_anomalies(expected_anomalies, row, remarks)
        else:
            expected_valid.append(row)
    verdict = v.validate_rows(rows, HARBIN, today=TODAY, cd_batch="b-1")
    assert [list(values) for values in verdict.valid] == [values_of(r) for r in expected_valid]
    assert verdict.anomalies == v.dedupe_anomalies(expected_anomalies)


# -- the fast checks agree with the reference implementations of nodes.model.identifiers --------
_ID_CHARS = st.text(alphabet=ALNUM36, min_size=1, max_size=12)


@given(st.text(alphabet=ALNUM36, min_size=21, max_size=21), _ID_CHARS, st.integers(1, 999))
def test_certificate_id_check_agrees_with_the_reference(
    type_code: str, serial: str, version: int
) -> None:
    from nodes.model.identifiers import make_certificate_id

    good = make_certificate_id(type_code, "11230100MB0000001X"[:18], serial, version)
    assert v.is_valid_certificate_id(good) is True is is_certificate_id(good)
    bad = wrong_check(good)
    assert v.is_valid_certificate_id(bad) is False is is_certificate_id(bad)


@given(st.text(alphabet=USCC_CHARSET + "IOSVZ", min_size=17, max_size=18))
def test_uscc_check_agrees_with_the_reference(value: str) -> None:
    assert v.is_valid_uscc(value) == is_uscc(value)


@given(st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17))
def test_uscc_check_accepts_every_made_code(first17: str) -> None:
    assert v.is_valid_uscc(make_uscc(first17))


@given(st.text(alphabet="0123456789X", min_size=18, max_size=18))
def test_citizen_id_check_agrees_with_the_reference(value: str) -> None:
    assert v.is_valid_citizen_id(value) == is_citizen_id(value)


def test_citizen_id_check_accepts_the_spec_example() -> None:
    assert v.is_valid_citizen_id("11010519491231002X")
