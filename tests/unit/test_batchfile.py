"""Batch files (§8.1.5): JSON lines and CSV become rows; a line that cannot be read becomes a
text saying why (the node answers it 15), and the lines after it are still read."""

from __future__ import annotations

from pathlib import Path

from gateway.control.batchfile import csv_rows, json_lines, read_batch

HEADER = "CertificateTypeCode,CertificateID,certificateName,issueDate,VerificationToken"


def test_json_lines_keep_objects_and_explain_unreadable_lines() -> None:
    rows = json_lines('{"VerificationToken": "AB"}\n\n{broken\n[1]\n')
    assert rows[0] == {"VerificationToken": "AB"}
    assert isinstance(rows[1], str)
    assert rows[1].startswith("line 3: not JSON")
    assert rows[2] == [1]  # valid JSON but not an object: the node says so


def test_csv_rows_become_verify_certificate_or_token_rows() -> None:
    text = f"{HEADER}\nT1,,营业执照,1995年3月1日,\n,,,,TOKEN\n"
    assert csv_rows(text) == [
        {
            "CertificateTypeCode": "T1",
            "CertificateData": {"certificateName": "营业执照", "issueDate": "1995年3月1日"},
        },
        {"VerificationToken": "TOKEN"},
    ]


def test_a_csv_line_with_the_wrong_field_count_is_explained_and_the_rest_read() -> None:
    rows = csv_rows(f"{HEADER}\nT1,only-two\nT2,,x,2020-01-01,\n")
    assert rows[0] == "line 2: 2 fields where the header has 5"
    assert isinstance(rows[1], dict)
    assert rows[1]["CertificateTypeCode"] == "T2"


def test_the_form_follows_the_extension(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text(f"\ufeff{HEADER}\n,,,,TOKEN\n", encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text('{"VerificationToken": "TOKEN"}\n', encoding="utf-8")
    expected = [{"VerificationToken": "TOKEN"}]
    assert read_batch(tmp_path / "rows.csv") == expected
    assert read_batch(tmp_path / "rows.jsonl") == expected
