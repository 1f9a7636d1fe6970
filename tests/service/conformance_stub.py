"""A small sharing system, written apart from ``nodes``, for testing the conformance kit.

It serves the ten methods under ``/ecert`` for one account bound to one address, five
certificates (two usable, one 注销, one expired, one 暂扣), two certificate types, OFD files and
picture zips, and an HTML page under ``/site``. It is correct as SPEC says, except for the
defects a test plants (``DEFECTS``), each one a mistake a vendor's system could make:

- ``envelope``: GetCertificateType answers ``"status": 0``, a number (as C.2 of the standard
  prints it by mistake);
- ``ip_binding``: the token is not bound to the account's address;
- ``item_key``: GetCertificateDataByCertificateID's data item has no ``issueDept``;
- ``return_code``: a missing required parameter is answered 15, not 12.

Identifiers are made and checked with the nodes' own code (``nodes.model.identifiers``), so the
kit's independent implementation is what is under test.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from aiohttp import web
from PIL import Image

from nodes.model.identifiers import (
    is_certificate_id,
    is_citizen_id,
    is_uscc,
    make_certificate_id,
    make_citizen_id,
    make_uscc,
)

DEFECTS = ("envelope", "ip_binding", "item_key", "return_code")
PATH = "/ecert"
MESSAGES = {
    0: "接口调用成功",
    2: "证照源未提供此服务接口",
    10: "未找到匹配的证照信息",
    11: "身份验证不通过",
    12: "要求必填的输入参数值不为空",
    13: "证照类型不存在或未发布",
    14: "访问IP与账号绑定IP不符",
    15: "参数值不符合规范",
    21: "该电子证照已废止或已注销",
    22: "该电子证照已过期",
    23: "该电子证照已受限使用",
}
REQUIRED = {
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
HOLDER_TYPES = {"001", "099", "111", "114", "115", "118", "119", "120", "122", "411", "412"} | {
    "413",
    "414",
    "511",
    "516",
    "999",
}
ISSUER = make_uscc("11230100MB1234567")
PERSON = make_citizen_id("230102", date(1980, 5, 6), 123)
COMPANY = make_uscc("91230100MA1B2C3D4")
MARRIAGE = "11100000000013055L001"  # 结婚证, 民政部
LICENCE = make_uscc("11100000000013127") + "002"  # a 公安部 type
TABLE_11 = (
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


class Refusal(Exception):
    def __init__(self, code: int, detail: str = ""):
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class StubCertificate:
    certificate_id: str
    answer: int  # what the by-ID methods answer: 0, 21, 22 or 23
    holder: str
    holder_type: str
    type_code: str
    number: str
    end: str = ""

    @property
    def item(self) -> dict[str, Any]:
        name = "结婚证" if self.type_code == MARRIAGE else "机动车驾驶证"
        return {
            "certificateType": name,
            "certificateName": name,
            "certificateHolder": "王芳",
            "certificateHolderCode": self.holder,
            "certificateHolderType": self.holder_type,
            "issueDept": "哈尔滨市民政局",
            "issueDeptCode": ISSUER,
            "certificateNumber": self.number,
            "issueDate": "2021-03-01",
            "certificateValidateStart": "2021-03-01",
            "certificateValidateEnd": self.end,
            "surface": [
                {"name": "持证人", "columnName": "CZR", "valueType": "string", "value": "王芳"}
            ],
            "detail": [],
        }


def _certificate(
    serial: str, answer: int, holder: str, holder_type: str, type_code: str, *, end: str = ""
) -> StubCertificate:
    return StubCertificate(
        make_certificate_id(type_code, ISSUER, serial),
        answer,
        holder,
        holder_type,
        type_code,
        f"N{serial}",
        end,
    )


CERTIFICATES = (
    _certificate("1001", 0, PERSON, "111", MARRIAGE),
    _certificate("1002", 0, COMPANY, "001", LICENCE, end="2099-12-31"),
    _certificate("1003", 21, PERSON, "111", LICENCE),
    _certificate("1004", 22, PERSON, "111", LICENCE, end="2020-01-01"),
    _certificate("1005", 23, COMPANY, "001", MARRIAGE),
)
TYPES = [
    {
        "CertificateTypeName": name,
        "CertificateTypeCode": code,
        "CertificateDefineAuthorityName": authority,
        "CertificateDefineAuthorityCode": code[:18],
        "CertificateDefineAuthorityLevel": "国家级",
        "RelatedItemName": "",
        "RelatedItemCode": "",
        "CertificateHolderCategory": category,
        "ValidityRange": "全国",
        "CertificateIssuingAuthorityLevel": "市级",
    }
    for name, code, authority, category in (
        ("结婚证", MARRIAGE, "中华人民共和国民政部", "自然人"),
        ("机动车驾驶证", LICENCE, "中华人民共和国公安部", "自然人"),
    )
]


@dataclass
class Stub:
    """The stub's state: its one account, the day's token, the links it handed out."""

    account: str
    bound_ip: str
    defects: frozenset[str]
    token: str = field(default_factory=lambda: secrets.token_hex(16).upper())
    links: dict[str, tuple[StubCertificate, str, str]] = field(default_factory=dict)


STUB = web.AppKey("stub", Stub)


def stub_app(
    *, account: str, bound_ip: str, defects: frozenset[str] = frozenset()
) -> web.Application:
    unknown = defects - set(DEFECTS)
    if unknown:
        raise ValueError(f"unknown defects {sorted(unknown)}")
    app = web.Application()
    app[STUB] = Stub(account, bound_ip, defects)
    app.router.add_get(PATH + "/file{token:[0-9A-F]{32}}.{ext:ofd|zip}", download)
    app.router.add_route("*", PATH + "/{method}", call)
    app.router.add_route("*", "/site/{tail:.*}", html_page)
    return app


async def html_page(request: web.Request) -> web.Response:
    return web.Response(text="<html><body>政务服务网</body></html>", content_type="text/html")


def envelope(code: int, data: Any = None, detail: str = "") -> dict[str, Any]:
    message = MESSAGES[code] + (f": {detail}" if detail else "")
    return {"head": {"status": str(code), "message": message}, "data": data or {}}


def listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return envelope(0, {"total": str(len(items)), "dataList": items})


async def call(request: web.Request) -> web.Response:
    stub = request.app[STUB]
    name = request.match_info["method"]
    try:
        body = await _answer(request, stub, "Token" if name == "token" else name)
    except Refusal as exc:
        body = envelope(exc.code, detail=exc.detail)
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def _answer(request: web.Request, stub: Stub, method: str) -> dict[str, Any]:
    if (method != "Token" and method not in REQUIRED) or request.method != "POST":
        raise Refusal(2, method)
    params = await _params(request)
    _authenticate(stub, method, params, request.remote or "")
    if method == "Token":
        return {
            "head": {"message": MESSAGES[0], "status": "0"},
            "data": {"total": "", "dataList": stub.token},
        }
    missing = next((p for p in REQUIRED[method] if not params.get(p)), None)
    if missing is not None:
        raise Refusal(15 if "return_code" in stub.defects else 12, missing)
    _validate(params)
    return await ANSWERS[method](request, stub, params)


async def _params(request: web.Request) -> dict[str, str]:
    raw = await request.read()
    if request.content_type.endswith("json"):
        value = orjson.loads(raw)
    else:
        value = dict(await request.post())
    return {
        str(k): (v if isinstance(v, str) else orjson.dumps(v).decode()).strip()
        for k, v in value.items()
        if v is not None
    }


def _authenticate(stub: Stub, method: str, params: Mapping[str, str], peer: str) -> None:
    account = params.get("AccountId", "")
    if not account:
        raise Refusal(15 if "return_code" in stub.defects else 12, "AccountId")
    if account != stub.account:
        raise Refusal(11, "unknown AccountId")
    if peer != stub.bound_ip and "ip_binding" not in stub.defects:
        raise Refusal(14, peer)
    if method == "Token":
        return
    if not params.get("AccessToken"):
        raise Refusal(15 if "return_code" in stub.defects else 12, "AccessToken")
    if params["AccessToken"] != stub.token:
        raise Refusal(11, "AccessToken")


def _validate(params: Mapping[str, str]) -> None:
    if "CertificateID" in params and not is_certificate_id(params["CertificateID"]):
        raise Refusal(15, "CertificateID")
    holder_type, code = params.get("CertificateHolderType"), params.get("CertificateHolderCode")
    if holder_type is not None and holder_type not in HOLDER_TYPES:
        raise Refusal(15, "CertificateHolderType")
    if (holder_type == "001" and not is_uscc(code or "")) or (
        holder_type == "111" and not is_citizen_id(code or "")
    ):
        raise Refusal(15, "CertificateHolderCode")
    type_code = params.get("CertificateTypeCode")
    if type_code is not None and not (is_uscc(type_code[:18]) and len(type_code) == 21):
        raise Refusal(15, "CertificateTypeCode")
    if len(params.get("UseFor", "")) > 200:
        raise Refusal(15, "UseFor")


def _by_id(params: Mapping[str, str]) -> StubCertificate:
    found = next((c for c in CERTIFICATES if c.certificate_id == params["CertificateID"]), None)
    if found is None:
        raise Refusal(10)
    if found.answer:
        raise Refusal(found.answer)
    return found


def _by_holder(params: Mapping[str, str]) -> list[StubCertificate]:
    type_code = params.get("CertificateTypeCode")
    if type_code and type_code not in {t["CertificateTypeCode"] for t in TYPES}:
        raise Refusal(13, type_code)
    found = [
        c
        for c in CERTIFICATES
        if c.holder == params["CertificateHolderCode"]
        and params.get("CertificateHolderType", c.holder_type) == c.holder_type
        and (type_code or c.type_code) == c.type_code
        and params.get("CertificateNumber", c.number) == c.number
    ]
    if not found:
        raise Refusal(10)
    usable = [c for c in found if not c.answer]
    if not usable:
        raise Refusal(min(c.answer for c in found))
    return usable


async def data_by_id(request: web.Request, stub: Stub, params: Mapping[str, str]) -> dict[str, Any]:
    item = _by_id(params).item
    if "item_key" in stub.defects:
        del item["issueDept"]
    return listing([item])


async def data_by_holder(
    request: web.Request, stub: Stub, params: Mapping[str, str]
) -> dict[str, Any]:
    return listing([c.item for c in _by_holder(params)])


def _files(
    request: web.Request, stub: Stub, found: list[StubCertificate], ext: str, use_for: str
) -> dict[str, Any]:
    items = []
    for certificate in found:
        token = secrets.token_hex(16).upper()
        stub.links[token] = (certificate, ext, use_for)
        item = {
            k: certificate.item[k]
            for k in ("certificateType", "issueDept", "certificateNumber", "issueDate")
        }
        url = f"{request.url.origin()}{PATH}/file{token}.{ext}"
        items.append(item | {"fileUrl": url, "fileFormat": ext})
    return listing(items)


async def file_by_id(request: web.Request, stub: Stub, params: Mapping[str, str]) -> dict[str, Any]:
    return _files(request, stub, [_by_id(params)], "ofd", params["UseFor"])


async def file_by_holder(
    request: web.Request, stub: Stub, params: Mapping[str, str]
) -> dict[str, Any]:
    return _files(request, stub, _by_holder(params), "ofd", params["UseFor"])


async def picture_by_id(
    request: web.Request, stub: Stub, params: Mapping[str, str]
) -> dict[str, Any]:
    return _files(request, stub, [_by_id(params)], "zip", params["UseFor"])


async def picture_by_holder(
    request: web.Request, stub: Stub, params: Mapping[str, str]
) -> dict[str, Any]:
    return _files(request, stub, _by_holder(params), "zip", params["UseFor"])


async def types(request: web.Request, stub: Stub, params: Mapping[str, str]) -> dict[str, Any]:
    body = listing(TYPES)
    if "envelope" in stub.defects:
        body["head"]["status"] = 0
    return body


async def retrieval(request: web.Request, stub: Stub, params: Mapping[str, str]) -> dict[str, Any]:
    found = [
        c
        for c in CERTIFICATES
        if c.holder == params["CertificateHolderCode"]
        and params.get("CertificateHolderType", c.holder_type) == c.holder_type
        and params.get("CertificateTypeCode", c.type_code) == c.type_code
    ]
    if not found:
        raise Refusal(10)
    return listing(
        [{"certificateID": c.certificate_id} | {k: c.item[k] for k in TABLE_11} for c in found]
    )


async def verify(request: web.Request, stub: Stub, params: Mapping[str, str]) -> dict[str, Any]:
    try:
        data = orjson.loads(params["CertificateData"])
    except orjson.JSONDecodeError:
        raise Refusal(15, "CertificateData") from None
    if not isinstance(data, dict):
        raise Refusal(15, "CertificateData")
    missing = next((k for k in TABLE_11 if not data.get(k)), None)
    if missing is not None:
        raise Refusal(12, f"CertificateData.{missing}")
    for key in ("issueDate", "certificateValidateStart", "certificateValidateEnd"):
        if data.get(key):
            data[key] = _iso_date(data[key])
    given = params.get("CertificateID")
    candidates = [
        c
        for c in CERTIFICATES
        if c.certificate_id == given
        or (given is None and c.holder == data["certificateHolderCode"])
    ]
    same = any(all(c.item[k] == data[k] for k in TABLE_11) for c in candidates)
    return envelope(0, {"verifyResult": "true" if same else "false"})


def _iso_date(text: str) -> str:
    """``YYYY-MM-DD`` or ``YYYY年M月D日`` as ``YYYY-MM-DD``; 15 for anything else."""
    try:
        if "年" in text:
            return datetime.strptime(text, "%Y年%m月%d日").date().isoformat()
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Refusal(15, text) from None


ANSWERS = {
    "GetCertificateFileByHolder": file_by_holder,
    "GetCertificateFileByCertificateID": file_by_id,
    "GetCertificateDataByHolder": data_by_holder,
    "GetCertificateDataByCertificateID": data_by_id,
    "VerifyCertificate": verify,
    "GetCertificatePictureByCertificateID": picture_by_id,
    "GetCertificatePictureByHolder": picture_by_holder,
    "GetCertificateType": types,
    "Retrieval": retrieval,
}


async def download(request: web.Request) -> web.Response:
    link = request.app[STUB].links.get(request.match_info["token"])
    if link is None or link[1] != request.match_info["ext"]:
        raise web.HTTPNotFound()
    certificate, ext, use_for = link
    entries = _ofd(certificate, use_for) if ext == "ofd" else {"page_1.png": _png()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return web.Response(body=buffer.getvalue(), content_type=f"application/{ext}")


def _ofd(certificate: StubCertificate, use_for: str) -> dict[str, bytes]:
    ns = "http://www.ofdspec.org/2016"
    ofd = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{ns}" Version="1.0" '
        f'DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>{certificate.certificate_id}'
        f'</ofd:DocID><ofd:CustomDatas><ofd:CustomData Name="CertificateCopyCreationCause">'
        f"{use_for}</ofd:CustomData></ofd:CustomDatas></ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    document = f'<ofd:Document xmlns:ofd="{ns}"><ofd:Pages/></ofd:Document>'
    return {"OFD.xml": ofd.encode(), "Doc_0/Document.xml": document.encode()}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="PNG")
    return buffer.getvalue()
