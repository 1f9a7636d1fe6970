"""The items the methods answer with (SPEC §3.3, Tables 4, 8, 14, 18, 20), from stored records.

A record is a certificate as stored (``Certificate.to_record()``: the standard's element names);
building items from it needs no model validation, which keeps the by-ID path fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.model.types import CertificateType
from nodes.store.db import Row

Record = Mapping[str, Any]

# Table 8 wire names and the B.1 element each comes from, in the table's order.
DATA_ITEM_SOURCES: tuple[tuple[str, str], ...] = (
    ("certificateType", "CertificateTypeName"),
    ("certificateName", "CertificateName"),
    ("certificateHolder", "CertificateHolderName"),
    ("certificateHolderCode", "CertificateHolderCode"),
    ("certificateHolderType", "CertificateHolderTypeCode"),
    ("issueDept", "CertificateIssuingAuthorityName"),
    ("issueDeptCode", "CertificateIssuingAuthorityCode"),
    ("certificateNumber", "CertificateNumber"),
    ("issueDate", "CertificateIssuedDate"),
    ("certificateValidateStart", "CertificateEffectiveDate"),
    ("certificateValidateEnd", "CertificateExpiringDate"),
)
DATA_ITEM_KEYS: tuple[str, ...] = (*(key for key, _ in DATA_ITEM_SOURCES), "surface", "detail")
REQUIRED_DATA_KEYS: tuple[str, ...] = DATA_ITEM_KEYS[:9]
FILE_ITEM_KEYS: tuple[str, ...] = (
    "certificateType",
    "issueDept",
    "certificateNumber",
    "issueDate",
    "fileUrl",
    "fileFormat",
)
RETRIEVAL_ITEM_KEYS: tuple[str, ...] = ("certificateID", *REQUIRED_DATA_KEYS)
SURFACE_KEYS: tuple[str, ...] = ("name", "columnName", "valueType", "value")
DETAIL_VALUE_KEYS: tuple[str, ...] = (*SURFACE_KEYS, "orderNum")

# Retrieval answers from the catalog index: E.1 columns of each Table 20 item.
RETRIEVAL_SOURCES: tuple[tuple[str, str], ...] = (
    ("certificateID", "certificate_source_id"),
    ("certificateType", "certificate_type"),
    ("certificateName", "certificate_name"),
    ("certificateHolder", "certificate_holder"),
    ("certificateHolderCode", "certificate_holder_code"),
    ("certificateHolderType", "certificate_holder_type"),
    ("issueDept", "issue_dept"),
    ("issueDeptCode", "issue_dept_code"),
    ("certificateNumber", "certificate_number"),
    ("issueDate", "issue_date"),
)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _surface(items: Any) -> list[dict[str, str]]:
    if not isinstance(items, list):
        return []
    if all(isinstance(item, dict) and tuple(item) == SURFACE_KEYS for item in items):
        return items  # stored by the Certificate model: already the wire form
    return [
        {key: _text(item.get(key, "string" if key == "valueType" else "")) for key in SURFACE_KEYS}
        for item in items
        if isinstance(item, Mapping)
    ]


def _detail(groups: Any) -> list[dict[str, Any]]:
    if not isinstance(groups, list):
        return []
    result: list[dict[str, Any]] = []
    for group in groups:
        if not isinstance(group, Mapping):
            continue
        values = group.get("datalist") or []
        result.append(
            {
                "group": _text(group.get("group")),
                "datalist": [
                    {**_surface([value])[0], "orderNum": value.get("orderNum", 0)}
                    for value in values
                    if isinstance(value, Mapping)
                ],
            }
        )
    return result


def data_item(record: Record) -> dict[str, Any]:
    """Table 8: the 13 keys, dates ``YYYY-MM-DD``, an empty end date for 长期."""
    item: dict[str, Any] = {key: _text(record.get(source)) for key, source in DATA_ITEM_SOURCES}
    item["surface"] = _surface(record.get("surface"))
    item["detail"] = _detail(record.get("detail"))
    return item


def file_item(record: Record, *, file_url: str, file_format: str) -> dict[str, str]:
    """Tables 4, 6, 14, 16: where to fetch the copy and in which format."""
    return {
        "certificateType": _text(record.get("CertificateTypeName")),
        "issueDept": _text(record.get("CertificateIssuingAuthorityName")),
        "certificateNumber": _text(record.get("CertificateNumber")),
        "issueDate": _text(record.get("CertificateIssuedDate")),
        "fileUrl": file_url,
        "fileFormat": file_format,
    }


def retrieval_item(row: Row | Mapping[str, Any]) -> dict[str, str]:
    """Table 20, from a catalog (E.1) row."""
    return {key: _text(row[column]) for key, column in RETRIEVAL_SOURCES}


def type_item(ctype: CertificateType) -> dict[str, str]:
    """Table 18: the ten catalogue elements."""
    return ctype.table18()
