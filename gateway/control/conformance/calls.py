"""The requests the checks send and the answers several checks read (``suite`` uses these).

Well-formed requests that need no real certificate are built from SPEC §2.5's sample values;
requests about real certificates and holders from what ``findings`` found.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gateway.control.conformance import identifiers as ids
from gateway.control.conformance import shapes
from gateway.control.conformance.base import CheckFailed, Context, Need, NotApplicable
from gateway.control.conformance.findings import USE_FOR, Findings, Known, by_id
from gateway.control.conformance.probe import Exchange
from gateway.core.protocol import dumps

BY_ID = (
    "GetCertificateDataByCertificateID",
    "GetCertificateFileByCertificateID",
    "GetCertificatePictureByCertificateID",
)
LOOKED_AT = 8  # usable certificates a check over many answers looks at

# SPEC §3.3: the required parameters of each method besides AccountId and AccessToken.
REQUIRED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "GetCertificateFileByHolder": ("CertificateHolderCode", "CertificateTypeCode", "UseFor"),
        "GetCertificateFileByCertificateID": ("CertificateID", "UseFor"),
        "GetCertificateDataByHolder": ("CertificateHolderCode", "CertificateTypeCode", "UseFor"),
        "GetCertificateDataByCertificateID": ("CertificateID", "UseFor"),
        "VerifyCertificate": ("CertificateTypeCode", "CertificateData", "UseFor"),
        "GetCertificatePictureByCertificateID": ("CertificateID", "UseFor"),
        "GetCertificatePictureByHolder": ("CertificateHolderCode", "CertificateTypeCode", "UseFor"),
        "GetCertificateType": (),
        "Retrieval": ("CertificateHolderCode", "UseFor"),
    }
)


def json_text(value: Any) -> str:
    return dumps(value).decode()


# Table 11 data of a made-up 居民身份证: well-formed, held by nobody.
SAMPLE_DATA: Mapping[str, str] = MappingProxyType(
    {
        "certificateType": "居民身份证",
        "certificateName": "居民身份证",
        "certificateHolder": "张三",
        "certificateHolderCode": ids.SAMPLE_CITIZEN_ID,
        "certificateHolderType": "111",
        "issueDept": "北京市公安局西城分局",
        "issueDeptCode": ids.SAMPLE_ISSUER,
        "certificateNumber": ids.SAMPLE_CITIZEN_ID,
        "issueDate": "2020-01-01",
    }
)
SAMPLE: Mapping[str, str] = MappingProxyType(
    {  # a well-formed value of every required one
        "CertificateID": ids.make_certificate_id(ids.SAMPLE_TYPE_CODE, ids.SAMPLE_ISSUER, "ZZ1"),
        "CertificateHolderCode": ids.SAMPLE_CITIZEN_ID,
        "CertificateTypeCode": ids.SAMPLE_TYPE_CODE,
        "CertificateData": json_text(dict(SAMPLE_DATA)),
        "UseFor": USE_FOR,
    }
)


def sample(method: str) -> dict[str, str]:
    return {name: SAMPLE[name] for name in REQUIRED[method]}


def http_200(exchange: Exchange) -> list[str]:
    """SPEC §3.1: every answer is HTTP 200, a JSON body (Appendix C: 返回值(JSON))."""
    status, content_type = exchange.http_status, exchange.content_type
    problems = [] if status == 200 else [f"HTTP {status}, not 200 (SPEC §3.1)"]
    if content_type != "application/json":
        problems.append(f"Content-Type {content_type or '(none)'}, not application/json")
    return problems


def other_token(ctx: Context) -> str:
    """A well-formed token that is not the account's."""
    while (token := secrets.token_hex(16).upper()) == ctx.probe.token:
        pass
    return token


def certificate_of(ctx: Context) -> Known:
    if ctx.found.certificate is None:
        raise NotApplicable(Need.CERTIFICATE.missing)
    return ctx.found.certificate


def valid_params(method: str, found: Findings) -> dict[str, str]:
    """Parameters a conformant system answers with status 0 (empty when none are known)."""
    known, holder = found.certificate, found.holder
    if method in BY_ID and known is not None:
        return by_id(known.certificate_id)
    if method == "VerifyCertificate" and known is not None:
        return verify_params(known, altered=False)
    if method == "Retrieval" and holder is not None:
        return {k: v for k, v in holder.params().items() if k != "CertificateTypeCode"}
    if method.endswith("ByHolder") and holder is not None:
        return holder.params()
    return {}


def verify_params(known: Known, *, altered: bool) -> dict[str, str]:
    """VerifyCertificate of ``known``'s Table 11 data, its holder's name changed if ``altered``."""
    source = known.listed or known.item or {}
    data = {key: source[key] for key in shapes.CERTIFICATE_DATA_KEYS if key in source}
    if altered:
        data["certificateHolder"] = f"{data.get('certificateHolder', '')}（改）"
    return {
        "CertificateTypeCode": ids.type_code_of(known.certificate_id),
        "CertificateID": known.certificate_id,
        "CertificateData": json_text(data),
        "UseFor": USE_FOR,
    }


# -- answers several checks read -----------------------------------------------------------------
def expect_items(exchange: Exchange, *, why: str) -> list[Any]:
    """Status 0 and at least one item in ``data.dataList``."""
    status = exchange.status
    if exchange.error or status != "0":
        answer = exchange.error or exchange.answer or exchange.text()
        raise CheckFailed(f"{why}: expected status 0, got {status!r} ({answer})")
    items = exchange.items()
    if not items:
        raise CheckFailed(f"{why}: status 0 but no items in data.dataList")
    return items


async def one_item(ctx: Context, method: str) -> Any:
    """The one item a by-ID method answers for the first usable certificate."""
    known = certificate_of(ctx)
    items = expect_items(await ctx.probe.call(method, by_id(known.certificate_id)), why=method)
    if len(items) != 1:
        raise CheckFailed(f"{method} for one CertificateID answered {len(items)} items")
    return items[0]


async def holder_items(ctx: Context, method: str) -> list[Any]:
    """The items a by-holder method (or Retrieval) answers; all must be of that holder."""
    holder = ctx.found.holder
    if holder is None:
        raise NotApplicable(Need.HOLDER.missing)
    items = expect_items(await ctx.probe.call(method, valid_params(method, ctx.found)), why=method)
    for item in items:
        code = item.get("certificateHolderCode", holder.code) if isinstance(item, dict) else None
        if code != holder.code:
            raise CheckFailed(f"{method} for holder {holder.code} answered an item of {code!r}")
    return items


async def answered_items(ctx: Context) -> list[dict[str, Any]]:
    """Data items of the usable certificates and the Retrieval items of the first holder."""
    items: list[Any] = []
    for known in ctx.found.usable[:LOOKED_AT]:
        params = by_id(known.certificate_id)
        items += (await ctx.probe.call("GetCertificateDataByCertificateID", params)).items()
    if ctx.found.holder is not None:
        items += (await ctx.probe.call("Retrieval", valid_params("Retrieval", ctx.found))).items()
    return [item for item in items if isinstance(item, dict)]


def holder_codes(items: list[dict[str, Any]], holder_type: str) -> list[Any]:
    return [
        item["certificateHolderCode"]
        for item in items
        if item.get("certificateHolderType") == holder_type and "certificateHolderCode" in item
    ]


async def type_items(ctx: Context) -> list[dict[str, Any]]:
    items = (await ctx.probe.call("GetCertificateType")).items()
    return [item for item in items if isinstance(item, dict)]


async def published_types(ctx: Context) -> set[str]:
    return {
        str(t["CertificateTypeCode"]) for t in await type_items(ctx) if "CertificateTypeCode" in t
    }


async def file_urls(ctx: Context, by_id_method: str, by_holder_method: str) -> list[str]:
    """The fileUrl of the first usable certificate, and of its holder's first item."""
    first = await one_item(ctx, by_id_method)
    urls = [first.get("fileUrl") if isinstance(first, dict) else None]
    if ctx.found.holder is not None:
        items = (await ctx.probe.call(by_holder_method, ctx.found.holder.params())).items()
        urls += [item.get("fileUrl") for item in items[:1] if isinstance(item, dict)]
    return [str(url) for url in urls if url]


async def download(ctx: Context, url: str) -> bytes:
    exchange = await ctx.probe.download(url)
    if exchange.error or exchange.http_status != 200:
        raise CheckFailed(f"GET {url}: {exchange.error or f'HTTP {exchange.http_status}'}")
    return exchange.raw
