"""Answers from this node's own store (SPEC §3.3): ``answer_locally(ctx, call) -> Answer``.

(``Token`` is not among them: the HTTP layer answers it before any resolver is asked.)

Certificates come from the 信息库 (table ``certificate``), retrieval from this node's catalog index
(the retrieval index of its subtree, SPEC §5), types from the approved type catalogue.

Status rules: a by-ID method answers 21 for 注销/吊销 (02/03), 22 when past
CertificateExpiringDate, 23 for 挂失/暂扣 (04/05). A by-holder method answers the usable matches
and 21/22/23 only when every match is unusable (the lowest of their codes). Nothing matching is
10, or 13 when the CertificateTypeCode asked for is not a published type here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import orjson
import structlog

from gateway.core.protocol import ReturnCode, list_data
from nodes.call import Answer, MethodCall
from nodes.context import NodeContext
from nodes.errors import (
    CertificateUnusable,
    NodeError,
    NotFound,
    TypeNotPublished,
    UnknownMethod,
)
from nodes.model.certificate import CertificateCopy
from nodes.model.dates import normalise_optional_date
from nodes.seals.sealing import seal_problem
from nodes.sharing.items import (
    DATA_ITEM_KEYS,
    Record,
    data_item,
    file_item,
    retrieval_item,
    type_item,
)
from nodes.sharing.params import certificate_data
from nodes.store.db import Row
from nodes.store.files import FileFormat, FileLink, new_file_token

log = structlog.get_logger()

Handler = Callable[[NodeContext, MethodCall], Awaitable[Any]]
_REVOKED = frozenset({"02", "03"})
_RESTRICTED = frozenset({"04", "05"})


async def answer_locally(ctx: NodeContext, call: MethodCall) -> Answer:
    """Answer ``call`` (validated parameters) from this node alone; never raises NodeError."""
    started = time.perf_counter()
    try:
        handler = _HANDLERS.get(call.method)
        if handler is None:
            raise UnknownMethod(f"{ReturnCode.UNKNOWN_METHOD.message}: {call.method}")
        code, data, message = ReturnCode.SUCCESS, await handler(ctx, call), None
    except NodeError as exc:
        code, data, message = exc.code, exc.data, exc.message
        if code is ReturnCode.OTHER:  # the detail goes to the log, not to the caller
            log.error("local.failed", method=call.method, error=exc.message)
            message = code.message
    elapsed = (time.perf_counter() - started) * 1000
    return Answer(code, data, message, route=[ctx.node_id], timings=[(ctx.node_id, elapsed)])


# -- status --------------------------------------------------------------------------------------
def unusable_code(record: Record, today: str) -> ReturnCode | None:
    """21, 22 or 23 when the certificate may not be used today (ISO date), else None."""
    status = record.get("CertificateStatus")
    if status in _REVOKED:
        return ReturnCode.CERTIFICATE_REVOKED
    expiring = _iso_date(record.get("CertificateExpiringDate"))
    if expiring and expiring < today:
        return ReturnCode.CERTIFICATE_EXPIRED
    if status in _RESTRICTED:
        return ReturnCode.CERTIFICATE_RESTRICTED
    return None


def _iso_date(value: Any) -> str:
    """A stored date as ``YYYY-MM-DD`` ("" for none or unreadable); stored ones already are."""
    if not value or not isinstance(value, str):
        return ""
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value
    try:
        return normalise_optional_date(value)
    except ValueError:
        return ""


def _usable(records: list[Record], today: str, what: str) -> list[Record]:
    """The usable records; 21/22/23 when all are unusable; nothing at all is the caller's case."""
    usable: list[Record] = []
    codes: list[ReturnCode] = []
    for record in records:
        code = unusable_code(record, today)
        if code is None:
            usable.append(record)
        else:
            codes.append(code)
    if not usable and codes:
        raise CertificateUnusable(min(codes), what)
    return usable


# -- queries (one SQLite read each; by-ID records remembered) ------------------------------------
async def _record(ctx: NodeContext, certificate_id: str) -> Record:
    """The stored record (its bytes remembered until the table changes; parsed per call, so no
    answer ever shares objects with another)."""
    stored = await ctx.store.certificates.record(certificate_id)
    if stored is None:
        raise NotFound(f"{ReturnCode.NOT_FOUND.message}: {certificate_id}")
    record: Record = orjson.loads(stored)
    return record


async def _holder_records(ctx: NodeContext, params: Mapping[str, str]) -> list[Record]:
    records = await ctx.store.certificates.records_of_holder(
        params["CertificateHolderCode"],
        type_code=params.get("CertificateTypeCode"),
        number=params.get("CertificateNumber"),
        holder_type=params.get("CertificateHolderType"),
    )
    return [orjson.loads(record) for record in records]


async def _catalog_rows(ctx: NodeContext, params: Mapping[str, str]) -> list[Row]:
    return await ctx.store.catalog.rows_of_holder(
        params["CertificateHolderCode"],
        type_code=params.get("CertificateTypeCode"),
        number=params.get("CertificateNumber"),
        holder_type=params.get("CertificateHolderType"),
    )


async def _nothing_matches(ctx: NodeContext, params: Mapping[str, str]) -> NodeError:
    """10, or 13 when the type asked for is not published at this node."""
    type_code = params.get("CertificateTypeCode")
    if type_code and not await ctx.store.types.is_published(type_code):
        return TypeNotPublished(f"{ReturnCode.TYPE_NOT_PUBLISHED.message}: {type_code}")
    return NotFound()


async def _by_id(ctx: NodeContext, call: MethodCall) -> Record:
    """The usable record; 21 for a version a change replaced names the new CertificateID."""
    certificate_id = call.params["CertificateID"]
    record = await _record(ctx, certificate_id)
    code = unusable_code(record, ctx.clock.today_iso())
    if code is ReturnCode.CERTIFICATE_REVOKED:
        successor = await ctx.store.history.successor(certificate_id)
        raise CertificateUnusable(code, certificate_id, new_certificate_id=successor or "")
    if code is not None:
        raise CertificateUnusable(code, certificate_id)
    return record


async def _by_holder(ctx: NodeContext, call: MethodCall) -> list[Record]:
    records = await _holder_records(ctx, call.params)
    usable = _usable(records, ctx.clock.today_iso(), call.params["CertificateHolderCode"])
    if not usable:
        raise await _nothing_matches(ctx, call.params)
    return usable


# -- files ---------------------------------------------------------------------------------------
def file_url(ctx: NodeContext, token: str, file_format: str) -> str:
    """Appendix C.2: ``http://<host>:<port><path>/file<32 HEX>.<ext>``."""
    return f"{ctx.node.url}{ctx.topology.path}/file{token}.{file_format}"


async def _file_items(
    ctx: NodeContext, call: MethodCall, records: list[Record], file_format: FileFormat
) -> dict[str, Any]:
    """One expiring link per copy handed out; each records the B.3 copy items."""
    now = ctx.clock.now()
    expires = now + timedelta(seconds=ctx.settings.file_link_ttl)
    copy = CertificateCopy(
        CertificateCopyCreationTime=now,
        CertificateCopyCreationOrganization=ctx.node.name,
        CertificateCopyCreationCause=call.params.get("UseFor", ""),
        CertificateCopyExpiringTime=expires,
    )
    links = [
        FileLink(
            token=new_file_token(),
            kind="local",
            file_format=file_format,
            expires_at=expires.timestamp(),
            certificate_id=str(record["CertificateID"]),
            copy=copy,
        )
        for record in records
    ]
    await ctx.store.files.add(links)
    items = [
        file_item(record, file_url=file_url(ctx, link.token, file_format), file_format=file_format)
        for record, link in zip(records, links, strict=True)
    ]
    return list_data(items)


def _document_format(call: MethodCall) -> FileFormat:
    return "pdf" if call.params.get("Format") == "pdf" else "ofd"


# -- the methods ---------------------------------------------------------------------------------
async def _data_by_id(ctx: NodeContext, call: MethodCall) -> dict[str, Any]:
    return list_data([data_item(await _by_id(ctx, call))])


async def _data_by_holder(ctx: NodeContext, call: MethodCall) -> dict[str, Any]:
    return list_data([data_item(record) for record in await _by_holder(ctx, call)])


async def _file_by_id(ctx: NodeContext, call: MethodCall) -> dict[str, Any]:
    return await _file_items(ctx, call, [await _by_id(ctx, call)], _document_format(call))


async def _file_by_holder(ctx: NodeContext, call: MethodCall) -> dict[str, Any]:
    return await _file_items(ctx, call, await _by_holder(ctx, call), _document_format(call))


async def _picture_by_id(ctx: NodeContext, call: MethodCall) -> dict[str, Any]:
    return await _file_items(ctx, call, [await _by_id(ctx, call)], "zip")


async def _picture_by_holder(ctx: NodeContext, call: MethodCall) -> dict[str, Any]:
    return await _file_items(ctx, call, await _by_holder(ctx, call), "zip")


async def _types(ctx: NodeContext, call: MethodCall) -> dict[str, Any]:
    types = await ctx.store.types.approved()
    if not types:
        raise NotFound(f"{ReturnCode.NOT_FOUND.message}: no published certificate types")
    return list_data([type_item(ctype) for ctype in types])


async def _retrieval(ctx: NodeContext, call: MethodCall) -> dict[str, Any]:
    """An index query over this node's catalog; cancelled (``D``) entries are not listed."""
    rows = await _catalog_rows(ctx, call.params)
    live = [row for row in rows if row["cd_operation"] != "D"]
    if rows and not live:
        raise CertificateUnusable(
            ReturnCode.CERTIFICATE_REVOKED, call.params["CertificateHolderCode"]
        )
    if not live:
        raise await _nothing_matches(ctx, call.params)
    return list_data([retrieval_item(row) for row in live])


def matches(record: Record, type_code: str, data: Mapping[str, str]) -> bool:
    """Every key of the Table 11 data given equals the stored certificate's (dates normalised)."""
    if record.get("CertificateTypeCode") != type_code:
        return False
    stored = data_item(record)
    for key in DATA_ITEM_KEYS[:11]:
        if key not in data:
            continue
        mine = stored[key]
        if key.startswith("certificateValidate") or key == "issueDate":
            try:
                mine = normalise_optional_date(mine)
            except ValueError:
                return False
        if mine != data[key]:
            return False
    return True


async def _verify(ctx: NodeContext, call: MethodCall) -> dict[str, str]:
    """verifyResult "true" when a certificate matches the data given, may be used today and its
    seal signature holds here; else "false" with ``verifyMessage`` saying why (SPEC §7 [P])."""
    data = certificate_data(call.params)
    type_code = call.params["CertificateTypeCode"]
    certificate_id = call.params.get("CertificateID")
    if certificate_id:
        candidates = [await _record(ctx, certificate_id)]
    else:
        query = {
            "CertificateHolderCode": data["certificateHolderCode"],
            "CertificateTypeCode": type_code,
            "CertificateNumber": data["certificateNumber"],
        }
        candidates = await _holder_records(ctx, query)
        if not candidates:
            raise await _nothing_matches(ctx, query)
    today = ctx.clock.today_iso()
    problems = [await _verify_problem(ctx, record, type_code, data, today) for record in candidates]
    if any(problem is None for problem in problems):
        return {"verifyResult": "true"}
    return {"verifyResult": "false", "verifyMessage": " | ".join(str(p) for p in problems)}


async def _verify_problem(
    ctx: NodeContext, record: Record, type_code: str, data: Mapping[str, str], today: str
) -> str | None:
    """Why ``record`` does not verify the data given (None when it does): the data first, then
    the status and validity dates, then the seal signature."""
    name = record.get("CertificateID", "")
    if not matches(record, type_code, data):
        return f"DATA_MISMATCH: the data given differs from certificate {name}"
    code = unusable_code(record, today)
    if code is not None:
        return f"STATUS_{int(code)}: certificate {name}: {code.message}"
    if not ctx.settings.seal_check:  # a benchmark's baseline (NodeSettings.seal_check)
        return None
    return await seal_problem(ctx, record)


_HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "GetCertificateFileByHolder": _file_by_holder,
        "GetCertificateFileByCertificateID": _file_by_id,
        "GetCertificateDataByHolder": _data_by_holder,
        "GetCertificateDataByCertificateID": _data_by_id,
        "VerifyCertificate": _verify,
        "GetCertificatePictureByCertificateID": _picture_by_id,
        "GetCertificatePictureByHolder": _picture_by_holder,
        "GetCertificateType": _types,
        "Retrieval": _retrieval,
    }
)
