"""Validation of the catalog rows a child sends up (SPEC §6.2 c): one ``error_remark`` per rule.

This is the ingest hot path (~4 µs a row): rows as plain arrays of values, precompiled
patterns, cached checks of the codes that repeat across rows (issuers, areas, type codes), no
pydantic. Big batches are
validated in a worker process (``nodes.catalog.worker``).

The rule that needs the parent's catalog (an ``I`` for an id another subtree owns) is applied by
``ingest``; its remark lives here with the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from operator import itemgetter, mul
from types import MappingProxyType
from typing import Any

from gateway.core.areas import is_area_code
from gateway.core.topology import Topology
from nodes.model.catalog import data_source_of
from nodes.model.codes import HOLDER_TYPE_NAMES, CdOperation, in_jurisdiction
from nodes.model.dates import parse_date
from nodes.model.identifiers import (
    ALNUM36,
    CITIZEN_ID_CHECK,
    CITIZEN_ID_WEIGHTS,
    USCC_CHARSET,
    USCC_WEIGHTS,
)
from nodes.store.schema import E1_COLUMNS, MESSAGE_COLUMNS, message_values

Row = dict[str, str]
# A row as a catalog message carries it and validation passes it on: the MESSAGE_COLUMNS values.
Values = Sequence[str]

# -- the remarks (异常说明), Chinese first, then a short English gloss ---------------------------
MALFORMED_ROW = "目录行格式错误 (the row is neither an array of the columns nor an object)"
REQUIRED_EMPTY = "必填项为空: {column} (required column is empty)"
BAD_CERTIFICATE_ID = "证照标识格式或校验位错误 (CertificateID malformed or wrong check character)"
OUTSIDE_JURISDICTION = "行政区划代码不在报送方辖区内 (area code outside the sender's jurisdiction)"
BAD_HOLDER_CODE = "持证主体代码校验不通过 (holder code fails the check of its holder type)"
UNKNOWN_HOLDER_TYPE = "持证主体代码类型不在A.2代码集中 (holder type is not in code set A.2)"
BAD_ISSUER_CODE = "颁发机构代码不是有效的统一社会信用代码 (issue_dept_code is not a valid USCC)"
BAD_ISSUE_DATE = "日期格式错误或颁发日期晚于当前日期 (issue_date is not a date or is in the future)"
BAD_CD_TIME = "变更时间cd_time格式错误 (cd_time is not an ISO 8601 time)"
FOREIGN_DATA_SOURCE = "数据来源代码与报送方不符 (data_source is not the sender's)"
UNKNOWN_OPERATION = "未知的操作类型cd_operation (cd_operation is not I, U or D)"
OWNED_ELSEWHERE = "证照标识已被其他下级系统占用 (the CertificateID is owned by another subtree)"
UNKNOWN_TYPE = "证照类型代码不在证照类型目录中 (certificate_type_code is not in the type catalogue)"

# E.1 columns that must not be empty: the required B.1 items plus the exchange columns.
REQUIRED_COLUMNS: tuple[str, ...] = tuple(
    column for column in E1_COLUMNS if column not in ("certificate_holder_type", "cd_batch")
)
OPERATIONS = frozenset(op.value for op in CdOperation)

_required_values = itemgetter(*REQUIRED_COLUMNS)
_WIDTH = len(MESSAGE_COLUMNS)
_AT = MappingProxyType({column: index for index, column in enumerate(MESSAGE_COLUMNS)})
_NONE_MISSING: frozenset[str] = frozenset()
_BLANKS = ("",) * len(E1_COLUMNS)
_ONLY_STR = frozenset({str})
_E1_KEYS = frozenset(E1_COLUMNS)
_REQUIRED_REMARKS = MappingProxyType(
    {column: REQUIRED_EMPTY.format(column=column) for column in REQUIRED_COLUMNS}
)
_CERTIFICATE_ID = re.compile(
    r"1\.2\.156\.3005\.2\.([0-9A-Z]{21})\.([0-9A-Z]{6,18})\.([0-9A-Z]{1,32})\.(\d{3})\.([0-9A-Z])"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_USCC_VALUE = MappingProxyType({ch: index for index, ch in enumerate(USCC_CHARSET)})
# ISO/IEC 7064 MOD 37,36 as a transition table: _STEP[p][ch] is the next p.
_STEP: tuple[Mapping[str, int], ...] = tuple(
    MappingProxyType({ch: (((p + value) % 36 or 36) * 2) % 37 for value, ch in enumerate(ALNUM36)})
    for p in range(37)
)


@dataclass(frozen=True, slots=True)
class Sender:
    """What a parent knows about the child a batch came from."""

    node_id: str
    data_sources: frozenset[str]  # the A.3 codes of the child's subtree
    jurisdiction: str | None  # area-code prefix, None for anywhere (ministries)
    # the type codes the parent knows (its type catalogue: built in, defined below, approved);
    # None: not checked (a parent's pipeline sets them for each validation step)
    type_codes: frozenset[str] | None = None


def sender_of(topology: Topology, node_id: str) -> Sender:
    return Sender(
        node_id=node_id,
        data_sources=frozenset(data_source_of(node) for node in topology.subtree(node_id)),
        jurisdiction=topology.jurisdiction(node_id),
    )


# -- checks ---------------------------------------------------------------------------------------
def _mod37_36(state: int, text: str) -> int:
    step = _STEP
    for ch in text:
        state = step[state][ch]
    return state


@lru_cache(maxsize=16384)
def _prefix_state(type_code: str, issuer_code: str) -> int:
    return _mod37_36(_mod37_36(36, type_code), issuer_code)


def is_valid_certificate_id(value: str) -> bool:
    """The GB/T 36904 form and MOD 37,36 check (as ``identifiers.parse_certificate_id``)."""
    match = _CERTIFICATE_ID.fullmatch(value)
    if match is None:
        return False
    type_code, issuer_code, serial, version, check = match.groups()
    state = _mod37_36(_mod37_36(_prefix_state(type_code, issuer_code), serial), version)
    return ALNUM36[(37 - state) % 36] == check


def is_valid_uscc(value: str) -> bool:
    if len(value) != 18:
        return False
    try:
        values = [_USCC_VALUE[ch] for ch in value]
    except KeyError:
        return False
    total: int = sum(map(mul, values, USCC_WEIGHTS))  # zip stops at the 17 weights
    return values[17] == (31 - total % 31) % 31


_cached_uscc = lru_cache(maxsize=16384)(is_valid_uscc)


# GB 11643: the weighted sum of the first 17 digits, in three parts that repeat across holders
# (the area code, the birth date) or are few (the sequence), each computed once.
_DIGITS = re.compile(r"[0-9]+")
_SEQUENCE_SUM = MappingProxyType(
    {
        f"{n:03d}": sum(
            int(d) * w for d, w in zip(f"{n:03d}", CITIZEN_ID_WEIGHTS[14:], strict=True)
        )
        for n in range(1000)
    }
)


def _weighted(digits: str, weights: Sequence[int]) -> int | None:
    if not _DIGITS.fullmatch(digits):
        return None
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


@lru_cache(maxsize=4096)
def _area_sum(area: str) -> int | None:
    return _weighted(area, CITIZEN_ID_WEIGHTS[:6])


@lru_cache(maxsize=65536)
def _birth_sum(yyyymmdd: str) -> int | None:
    """The weighted sum of a birth date's digits; None when they are not a calendar date."""
    total = _weighted(yyyymmdd, CITIZEN_ID_WEIGHTS[6:14])
    if total is None:
        return None
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None
    return total


def is_valid_citizen_id(value: str) -> bool:
    if len(value) != 18:
        return False
    area, born = _area_sum(value[:6]), _birth_sum(value[6:14])
    sequence = _SEQUENCE_SUM.get(value[14:17])
    if area is None or born is None or sequence is None:
        return False
    return CITIZEN_ID_CHECK[(area + born + sequence) % 11] == value[17]


@lru_cache(maxsize=16384)
def _area_allowed(code: str, prefix: str | None) -> bool:
    return is_area_code(code) and in_jurisdiction(code, prefix)


@lru_cache(maxsize=65536)  # issue dates repeat across rows (one day, many certificates)
def _issue_date(value: str, today: str) -> str | None:
    """The normalised date when it is a date not after ``today``, else None."""
    if len(value) == 10 and _ISO_DATE.fullmatch(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            return None
        normalised = value
    else:
        try:
            normalised = parse_date(value).isoformat()
        except ValueError:
            return None
    return normalised if normalised <= today else None


def _is_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


# -- rows -----------------------------------------------------------------------------------------
def clean_row(raw: dict[str, Any], cd_batch: str, *, reuse: bool = False) -> Row:
    """The E.1 columns of ``raw`` as strings (missing → ``""``), stamped with ``cd_batch``.

    ``reuse``: ``raw`` belongs to the caller (a freshly decoded message) and may become the row
    itself when it already is exactly an E.1 row of strings, the usual case.
    """
    if reuse and raw.keys() == _E1_KEYS and set(map(type, raw.values())) == _ONLY_STR:
        raw["cd_batch"] = cd_batch
        return raw
    row: dict[str, Any] = dict(zip(E1_COLUMNS, map(raw.get, E1_COLUMNS, _BLANKS), strict=True))
    if set(map(type, row.values())) != _ONLY_STR:
        for column, value in row.items():
            if type(value) is not str:
                row[column] = "" if value is None else str(value)
    row["cd_batch"] = cd_batch
    return row


def row_remarks(row: Row, sender: Sender, today: str) -> list[str]:
    """Every rule ``row`` breaks (empty when valid); normalises ``issue_date`` in place.

    A required column that is empty gets its own remark; the format rules judge only what is there.
    """
    if all(map(str.strip, _required_values(row))):
        missing: AbstractSet[str] = _NONE_MISSING
        remarks = []
    else:
        missing = {c for c in REQUIRED_COLUMNS if not row[c].strip()}
        remarks = [_REQUIRED_REMARKS[c] for c in REQUIRED_COLUMNS if c in missing]
    if "certificate_source_id" not in missing and not is_valid_certificate_id(
        row["certificate_source_id"]
    ):
        remarks.append(BAD_CERTIFICATE_ID)
    if "certificate_area_code" not in missing and not _area_allowed(
        row["certificate_area_code"], sender.jurisdiction
    ):
        remarks.append(OUTSIDE_JURISDICTION)
    holder = _holder_remark(row, "certificate_holder_code" not in missing)
    if holder:
        remarks.append(holder)
    if "issue_dept_code" not in missing and not _cached_uscc(row["issue_dept_code"]):
        remarks.append(BAD_ISSUER_CODE)
    known = sender.type_codes
    typed = "certificate_type_code" not in missing
    if known is not None and typed and row["certificate_type_code"] not in known:
        remarks.append(UNKNOWN_TYPE)
    remarks.extend(_exchange_remarks(row, sender, today, missing))
    return remarks


def _exchange_remarks(row: Row, sender: Sender, today: str, missing: AbstractSet[str]) -> list[str]:
    found: list[str] = []
    if "issue_date" not in missing:
        normalised = _issue_date(row["issue_date"], today)
        if normalised is None:
            found.append(BAD_ISSUE_DATE)
        else:
            row["issue_date"] = normalised
    if "cd_time" not in missing and not _is_time(row["cd_time"]):
        found.append(BAD_CD_TIME)
    if "data_source" not in missing and row["data_source"] not in sender.data_sources:
        found.append(FOREIGN_DATA_SOURCE)
    if "cd_operation" not in missing and row["cd_operation"] not in OPERATIONS:
        found.append(UNKNOWN_OPERATION)
    return found


def _holder_remark(row: Row, has_code: bool) -> str | None:
    return _holder_fault(row["certificate_holder_type"], row["certificate_holder_code"], has_code)


def _holder_fault(holder_type: str, code: str, has_code: bool) -> str | None:
    if not holder_type:
        return None
    if holder_type not in HOLDER_TYPE_NAMES:
        return UNKNOWN_HOLDER_TYPE
    if has_code and (
        (holder_type == "001" and not is_valid_uscc(code))
        or (holder_type == "111" and not is_valid_citizen_id(code))
    ):
        return BAD_HOLDER_CODE
    return None


@dataclass(slots=True)
class Verdict:
    """The rows of one batch sorted into valid ones and E.2 anomaly rows."""

    valid: list[Values]  # the MESSAGE_COLUMNS values of each valid row, in batch order
    anomalies: list[Row]


def validate_rows(rows: Sequence[Any], sender: Sender, *, today: str, cd_batch: str) -> Verdict:
    """Apply every row rule of SPEC §6.2 to a batch; ``today`` is ``YYYY-MM-DD`` at the parent.

    A row is an array of the ``MESSAGE_COLUMNS`` values, as a catalog message carries it, or an
    object of E.1 columns. The arrays of the right width, and the objects of exactly the E.1
    columns, are screened column by column first (``_screen``); only those the screen cannot
    clear are judged rule by rule, as E.1 dicts, which is what finds their remarks. The rows are
    the caller's to give away: screened arrays are passed on as they are.
    """
    shaped = [_shaped(raw) for raw in rows]
    screened = {i: values for i, values in enumerate(shaped) if values is not None}
    positions = list(screened)
    suspects = {positions[k] for k in _screen(list(screened.values()), sender, today)}
    verdict = Verdict(valid=[], anomalies=[])
    for index, raw in enumerate(rows):
        values = shaped[index]
        if values is not None and index not in suspects:
            verdict.valid.append(values)
            continue
        row = _as_row(raw, cd_batch)
        if row is None:
            add_anomalies(verdict.anomalies, clean_row({}, cd_batch), [MALFORMED_ROW])
            continue
        remarks = row_remarks(row, sender, today)
        if remarks:
            add_anomalies(verdict.anomalies, row, remarks)
        else:
            verdict.valid.append(list(message_values(row)))
    verdict.anomalies = dedupe_anomalies(verdict.anomalies)
    return verdict


def _shaped(raw: Any) -> Values | None:
    """The values of a row the screen can judge as it stands: an array of the columns' width,
    or an object of exactly the E.1 columns (whatever its cd_batch: the parent stamps its own)."""
    kind = type(raw)
    if kind is list:
        return raw if len(raw) == _WIDTH else None
    if kind is dict and raw.keys() == _E1_KEYS:
        return list(message_values(raw))
    return None


def _as_row(raw: Any, cd_batch: str) -> Row | None:
    """A row to judge rule by rule, as an E.1 dict of strings; None when it is neither an array
    of the columns nor an object."""
    if type(raw) is list and len(raw) == _WIDTH:
        return clean_row(dict(zip(MESSAGE_COLUMNS, raw, strict=True)), cd_batch, reuse=True)
    if isinstance(raw, dict):
        return clean_row(raw, cd_batch, reuse=True)
    return None


def _screen(rows: list[Values], sender: Sender, today: str) -> list[int]:
    """Positions of ``rows`` (the MESSAGE_COLUMNS values of each) that may break a rule or
    hold a value that is not a string; the others break none and stand as they are.

    The columns whose values repeat across a batch (issuers, areas, dates, codes) are judged
    once per distinct value; the identifiers that differ on every row, row by row. A value
    ``row_remarks`` would rewrite (an issue_date not in ISO form) makes its row a suspect too.
    """
    suspects: set[int] = set()
    for column, good in _value_checks(sender, today):
        getter = itemgetter(_AT[column])
        try:
            bad = {value for value in set(map(getter, rows)) if not _passes(value, good)}
        except TypeError:  # a JSON array or object in this column: judged row by row
            suspects.update(i for i, row in enumerate(rows) if not _passes(getter(row), good))
            continue
        if bad:
            suspects.update(i for i, row in enumerate(rows) if getter(row) in bad)
    certificate_id_at, type_at = _AT["certificate_source_id"], _AT["certificate_holder_type"]
    code_at = _AT["certificate_holder_code"]
    for i, row in enumerate(rows):
        if i in suspects:
            continue
        certificate_id = row[certificate_id_at]
        if (
            type(certificate_id) is not str
            or not is_valid_certificate_id(certificate_id)
            or _holder_fault(row[type_at], row[code_at], True)
        ):
            suspects.add(i)
    return sorted(suspects)


def _passes(value: object, good: Callable[[str], object]) -> bool:
    return type(value) is str and bool(good(value))


def _value_checks(sender: Sender, today: str) -> list[tuple[str, Callable[[str], object]]]:
    """(column, check) for every required column but the certificate id; a value passes when
    the check is truthy: filled in, and valid where ``row_remarks`` has a rule for it."""
    specific: dict[str, Callable[[str], object]] = {
        "issue_dept_code": _cached_uscc,
        "certificate_area_code": lambda code: _area_allowed(code, sender.jurisdiction),
        "issue_date": lambda value: _issue_date(value, today) == value,
        "cd_time": _is_time,
        "data_source": sender.data_sources.__contains__,
        "cd_operation": OPERATIONS.__contains__,
    }
    if sender.type_codes is not None:
        specific["certificate_type_code"] = sender.type_codes.__contains__
    checks: list[tuple[str, Callable[[str], object]]] = [
        (column, _filled_and(specific[column]) if column in specific else str.strip)
        for column in REQUIRED_COLUMNS
        if column != "certificate_source_id"  # checked row by row
    ]
    # optional, and judged row by row with the holder code; here only: is it a string
    return [*checks, ("certificate_holder_type", _any_text)]


def _any_text(value: str) -> bool:
    return True


def _filled_and(check: Callable[[str], object]) -> Callable[[str], object]:
    return lambda value: value.strip() and check(value)


def add_anomalies(into: list[Row], row: Row, remarks: Iterable[str]) -> None:
    into.extend({**row, "error_remark": remark} for remark in remarks)


def dedupe_anomalies(anomalies: list[Row]) -> list[Row]:
    """One E.2 row per (certificate_source_id, error_remark), as the child's table keys them."""
    seen: dict[tuple[str, str], Row] = {}
    for row in anomalies:
        seen.setdefault((row["certificate_source_id"], row["error_remark"]), row)
    return list(seen.values())
