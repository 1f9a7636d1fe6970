"""Reading a batch verification file (§8.1.5) into the rows ``POST /admin/verify/batch`` takes.

Two forms, chosen by the file's extension (``.csv``; anything else is JSON lines):
- JSON lines: one JSON object per line (blank lines skipped);
- CSV with a header row: ``VerificationToken`` for a QR token, or ``CertificateTypeCode``,
  ``CertificateID`` (optional) and the Table 11 keys (``certificateType``, ``certificateName``,
  ``certificateHolder``, ``certificateHolderCode``, ``certificateHolderType``, ``issueDept``,
  ``issueDeptCode``, ``certificateNumber``, ``issueDate``, ``certificateValidateStart``,
  ``certificateValidateEnd``) as columns.
A line that cannot be read as a row is passed on as a short text saying why, so that the node
answers it with its own result (15) and the other rows still go through.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson

from gateway.core.protocol import CERTIFICATE_DATA_KEYS


def read_batch(path: Path) -> list[Any]:
    """The rows of the file at ``path`` (OSError when it cannot be read)."""
    text = path.read_text(encoding="utf-8-sig")
    return csv_rows(text) if path.suffix.lower() == ".csv" else json_lines(text)


def json_lines(text: str) -> list[Any]:
    rows: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            rows.append(f"line {number}: not JSON ({exc}): {line[:60]}")
    return rows


def csv_rows(text: str) -> list[Any]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return []
    names = [name.strip() for name in header]
    rows: list[Any] = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(names):
            where = f"line {reader.line_num}"
            rows.append(f"{where}: {len(values)} fields where the header has {len(names)}")
            continue
        rows.append(_csv_row(dict(zip(names, (v.strip() for v in values), strict=True))))
    return rows


def _csv_row(fields: dict[str, str]) -> dict[str, Any]:
    if fields.get("VerificationToken"):
        return {"VerificationToken": fields["VerificationToken"]}
    row: dict[str, Any] = {
        "CertificateTypeCode": fields.get("CertificateTypeCode", ""),
        "CertificateData": {key: fields[key] for key in CERTIFICATE_DATA_KEYS if fields.get(key)},
    }
    if fields.get("CertificateID"):
        row["CertificateID"] = fields["CertificateID"]
    return row
