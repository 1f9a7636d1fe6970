"""The shapes the standard gives answers (SPEC §3.1, §3.3; Appendix C, Tables 4–20), as data
and as functions that list what is wrong with an answer (an empty list: nothing).

The key lists are the kit's own copy of SPEC §3.3, not imported from the nodes: the kit judges
any system, ours included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

SUCCESS_MESSAGE = "接口调用成功"  # Appendix D, status 0
TOKEN = re.compile(r"^[0-9A-F]{32}$")  # SPEC §3.1: a 32-character upper-case hex string

# Table 8 (data item): the nine required keys, then the optional ones.
DATA_REQUIRED = (
    "certificateType",
    "certificateName",
    "certificateHolder",
    "certificateHolderCode",
    "certificateHolderType",
    "issueDept",
    "issueDeptCode",
    "certificateNumber",
    "issueDate",
)
DATA_OPTIONAL = ("certificateValidateStart", "certificateValidateEnd", "surface", "detail")
# Tables 4, 6, 14, 16 (file and picture items)
FILE_KEYS = ("certificateType", "issueDept", "certificateNumber", "issueDate", "fileUrl")
FILE_KEYS_ALL = (*FILE_KEYS, "fileFormat")
# Table 18 (type item, GB/T 36902 catalogue elements); the first four must not be empty.
TYPE_KEYS = (
    "CertificateTypeName",
    "CertificateTypeCode",
    "CertificateDefineAuthorityName",
    "CertificateDefineAuthorityCode",
    "CertificateDefineAuthorityLevel",
    "RelatedItemName",
    "RelatedItemCode",
    "CertificateHolderCategory",
    "ValidityRange",
    "CertificateIssuingAuthorityLevel",
)
# Table 20 (retrieval item)
RETRIEVAL_KEYS = ("certificateID", *DATA_REQUIRED)
# Table 11 (VerifyCertificate's CertificateData): the first eleven keys of a data item.
CERTIFICATE_DATA_KEYS = (*DATA_REQUIRED, "certificateValidateStart", "certificateValidateEnd")
SURFACE_KEYS = ("name", "columnName", "valueType", "value")
DETAIL_KEYS = ("group", "datalist")


def kind(value: object) -> str:
    """How JSON calls the type of ``value``."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    names |= {list: "an array", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


# -- the envelope --------------------------------------------------------------------------------
def envelope_problems(body: Any, *, listing: bool) -> list[str]:
    """Appendix C: ``{"head": {"status": "<digits>", "message": str}, "data": {...}}``.

    A success answer of a list method (``listing``) has ``data.total`` the string count of
    ``data.dataList``, an array.
    """
    if not isinstance(body, dict):
        return [f"the answer is {kind(body)}, not a JSON object"]
    problems = exact_keys(body, ("head", "data"), "the envelope")
    head, data = body.get("head"), body.get("data")
    if not isinstance(head, dict):
        return [*problems, f"head is {kind(head)}, not an object"]
    problems += exact_keys(head, ("status", "message"), "head")
    status, message = head.get("status"), head.get("message")
    if not isinstance(status, str) or not status.isdigit():
        problems.append(f"head.status is {status!r} ({kind(status)}), not a string of digits")
    if not isinstance(message, str) or not message:
        problems.append(f"head.message is {message!r}, not a non-empty string")
    elif status == "0" and message != SUCCESS_MESSAGE:
        problems.append(f"head.message of status 0 is {message!r}, not {SUCCESS_MESSAGE!r}")
    if not isinstance(data, dict):
        return [*problems, f"data is {kind(data)}, not an object"]
    if listing and status == "0":
        problems += _list_problems(data)
    return problems


def _list_problems(data: dict[str, Any]) -> list[str]:
    problems = exact_keys(data, ("total", "dataList"), "data")
    items, total = data.get("dataList"), data.get("total")
    if not isinstance(items, list):
        return [*problems, f"data.dataList is {kind(items)}, not an array"]
    if total != str(len(items)):
        problems.append(
            f"data.total is {total!r} ({kind(total)}), not the string {str(len(items))!r}"
            f" counting data.dataList"
        )
    return problems


def exact_keys(value: dict[str, Any], keys: Sequence[str], where: str) -> list[str]:
    missing = [key for key in keys if key not in value]
    extra = [key for key in value if key not in keys]
    problems = [f"{where} has no {key!r}" for key in missing]
    if extra:
        problems.append(f"{where} has keys outside the standard's: {', '.join(map(repr, extra))}")
    return problems


# -- items -------------------------------------------------------------------------------------
def item_problems(
    item: Any, *, required: Sequence[str], optional: Sequence[str] = (), table: str
) -> list[str]:
    """Required keys present as non-empty strings, optional ones of the right type, no others."""
    if not isinstance(item, dict):
        return [f"an item is {kind(item)}, not an object"]
    problems = []
    for key in required:
        value = item.get(key)
        if key not in item:
            problems.append(f"no {key!r} ({table})")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"{key} is {value!r} ({kind(value)}), not a non-empty string")
    for key in optional:
        if key in item:
            problems += _optional_problems(key, item[key])
    extra = [key for key in item if key not in required and key not in optional]
    if extra:
        problems.append(f"keys outside {table}: {', '.join(map(repr, extra))}")
    return problems


def _optional_problems(key: str, value: Any) -> list[str]:
    if key == "surface":
        return _entries_problems(value, SURFACE_KEYS, "surface")
    if key == "detail":
        if not isinstance(value, list):
            return [f"detail is {kind(value)}, not an array"]
        problems = []
        for group in value:
            if not isinstance(group, dict) or set(group) != set(DETAIL_KEYS):
                problems.append(f"a detail group is {group!r}, not {{group, datalist}}")
                continue
            problems += _entries_problems(group["datalist"], (*SURFACE_KEYS, "orderNum"), key)
        return problems
    if not isinstance(value, str):
        return [f"{key} is {value!r} ({kind(value)}), not a string"]
    return []


def _entries_problems(value: Any, keys: Sequence[str], where: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{where} is {kind(value)}, not an array"]
    problems = []
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != set(keys):
            problems.append(f"a {where} entry is {entry!r}, not an object of {', '.join(keys)}")
            continue
        wrong = [k for k in SURFACE_KEYS if not isinstance(entry[k], str)]
        if "orderNum" in entry and not _is_order(entry["orderNum"]):
            wrong.append("orderNum")
        if wrong:
            problems.append(f"a {where} entry has {', '.join(wrong)} of the wrong type: {entry!r}")
    return problems


def _is_order(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.isdigit()
    )


def data_item_problems(item: Any) -> list[str]:
    return item_problems(item, required=DATA_REQUIRED, optional=DATA_OPTIONAL, table="Table 8")


def file_item_problems(item: Any, file_format: str, table: str) -> list[str]:
    """Tables 4, 6 (``ofd``) and 14, 16 (``zip``): six keys, an absolute ``fileUrl``."""
    problems = item_problems(item, required=FILE_KEYS_ALL, table=table)
    if not isinstance(item, dict):
        return problems
    if "fileFormat" in item and item["fileFormat"] != file_format:
        problems.append(f"fileFormat is {item['fileFormat']!r}, not {file_format!r}")
    url = item.get("fileUrl")
    if isinstance(url, str) and url and not re.match(r"^https?://[^/\s]+/\S*$", url):
        problems.append(f"fileUrl {url!r} is not an absolute http(s) URL")
    return problems


def type_item_problems(item: Any) -> list[str]:
    problems = item_problems(item, required=TYPE_KEYS[:4], optional=TYPE_KEYS[4:], table="Table 18")
    if isinstance(item, dict):
        absent = [key for key in TYPE_KEYS[4:] if key not in item]
        problems += [f"no {key!r} (Table 18)" for key in absent]
    return problems


def retrieval_item_problems(item: Any) -> list[str]:
    return item_problems(item, required=RETRIEVAL_KEYS, table="Table 20")


def numbered(problems: Iterable[tuple[int, list[str]]]) -> list[str]:
    """``item 2: …`` lines for the items that have problems."""
    return [f"item {index + 1}: {line}" for index, lines in problems for line in lines]
