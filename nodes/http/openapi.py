"""``GET <path>/openapi.json``: OpenAPI 3.1 of the ten methods, generated from the very pydantic
models that validate the parameters (``nodes.sharing.params``), plus the Appendix C envelope."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from gateway.core.protocol import METHODS, ReturnCode
from nodes.http import verify_qr
from nodes.http.keys import CONTEXT
from nodes.http.middleware import json_response
from nodes.sharing.params import PARAMS, VerifyParams

T = TypeVar("T")
_CODES = ", ".join(f"{int(code)} {code.message}" for code in ReturnCode)


class Head(BaseModel):
    status: str = Field(description=f"Appendix D return code, a string: {_CODES}")
    message: str


class Envelope(BaseModel, Generic[T]):
    """Every answer: HTTP 200 and this JSON (SPEC §3.1)."""

    head: Head
    data: T | dict[str, Any] = Field(
        description="the answer; {} when status is not 0, but for 21 of a version a change"
        ' replaced: {"newCertificateID": the CertificateID of the new version}'
    )


class ListOf(BaseModel, Generic[T]):
    total: str = Field(description="the number of items, a string")
    dataList: list[T]


class TokenData(BaseModel):
    total: str = Field("", description='always ""')
    dataList: str = Field(description="AccessToken: 32 upper-case hex characters")


class _Item(BaseModel):
    model_config = ConfigDict(extra="allow")


class SurfaceValue(BaseModel):
    name: str
    columnName: str
    valueType: str
    value: str


class _RequiredData(_Item):
    """The nine required keys of a Table 8 data item, which Table 20 repeats."""

    certificateType: str
    certificateName: str
    certificateHolder: str
    certificateHolderCode: str
    certificateHolderType: str
    issueDept: str
    issueDeptCode: str
    certificateNumber: str
    issueDate: str


class DataItem(_RequiredData):
    """Table 8."""

    certificateValidateStart: str = ""
    certificateValidateEnd: str = ""
    surface: list[SurfaceValue] = []
    detail: list[dict[str, Any]] = []


class FileItem(_Item):
    """Tables 4, 6, 14, 16."""

    certificateType: str
    issueDept: str
    certificateNumber: str
    issueDate: str
    fileUrl: str
    fileFormat: str = Field(description="ofd, pdf or zip (PNG pages)")


class VerifyResult(BaseModel):
    verifyResult: str = Field(description='"true" or "false"')
    verifyMessage: str | None = Field(
        None,
        description='[P] with "false": why, as CODE: text — DATA_MISMATCH, STATUS_21/22/23,'
        " UNSEALED, NO_SEAL_FOR_AUTHORITY, SEAL_UNKNOWN, SEAL_OF_ANOTHER_AUTHORITY,"
        " SIGNATURE_INVALID (the seal signature over the canonical data does not hold)",
    )


class TypeItem(_Item):
    """Table 18."""

    CertificateTypeName: str
    CertificateTypeCode: str
    CertificateDefineAuthorityName: str
    CertificateDefineAuthorityCode: str
    CertificateDefineAuthorityLevel: str
    RelatedItemName: str
    RelatedItemCode: str
    CertificateHolderCategory: str
    ValidityRange: str
    CertificateIssuingAuthorityLevel: str


class RetrievalItem(_RequiredData):
    """Table 20: ``certificateID`` and the nine required data-item keys."""

    certificateID: str


ANSWERS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "Token": Envelope[TokenData],
        "GetCertificateFileByHolder": Envelope[ListOf[FileItem]],
        "GetCertificateFileByCertificateID": Envelope[ListOf[FileItem]],
        "GetCertificateDataByHolder": Envelope[ListOf[DataItem]],
        "GetCertificateDataByCertificateID": Envelope[ListOf[DataItem]],
        "VerifyCertificate": Envelope[VerifyResult],
        "GetCertificatePictureByCertificateID": Envelope[ListOf[FileItem]],
        "GetCertificatePictureByHolder": Envelope[ListOf[FileItem]],
        "GetCertificateType": Envelope[ListOf[TypeItem]],
        "Retrieval": Envelope[ListOf[RetrievalItem]],
    }
)


def _envelope_only() -> dict[str, Any]:
    return {"application/json": {"schema": {"type": "object", "required": ["head", "data"]}}}


def _refusals() -> dict[str, Any]:
    """The two answers of a method that are not HTTP 200 (SPEC §3.1 [P]): still an envelope."""
    return {
        "405": {
            "description": "called without POST: status 2, header Allow: POST",
            "headers": {"Allow": {"schema": {"type": "string", "const": "POST"}}},
            "content": _envelope_only(),
        },
        "413": {
            "description": "a body over 1 MiB, refused before it is read: status 15",
            "content": _envelope_only(),
        },
    }


@cache
def openapi_document(path: str, title: str) -> dict[str, Any]:
    models = [*dict.fromkeys(PARAMS.values()), *dict.fromkeys(ANSWERS.values())]
    refs, schema = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, Any] = {}
    for method in METHODS:
        params_ref = refs[(PARAMS[method], "validation")]
        form: dict[str, Any] = {"schema": params_ref}
        if PARAMS[method] is VerifyParams:
            form["encoding"] = {"CertificateData": {"contentType": "application/json"}}
        paths[f"{path}/{'token' if method == 'Token' else method}"] = {
            "post": {
                "operationId": method,
                "summary": (PARAMS[method].__doc__ or method).strip(),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": form,
                        "application/json": {"schema": params_ref},
                    },
                },
                "responses": {
                    "200": {
                        "description": "the Appendix C envelope (errors too: see head.status)",
                        "content": {
                            "application/json": {"schema": refs[(ANSWERS[method], "validation")]}
                        },
                    },
                    **_refusals(),
                },
            }
        }
    paths[f"{path}/file{{token}}.{{ext}}"] = _file_path()
    paths[f"{path}/VerifyQr"] = verify_qr.openapi_path()
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "DB23/T 2836-2021"},
        "paths": paths,
        "components": {"schemas": schema.get("$defs", {})},
    }


def _file_path() -> dict[str, Any]:
    return {
        "get": {
            "operationId": "DownloadFile",
            "summary": "The copy a fileUrl names (expires; B.3 items recorded)",
            "parameters": [
                {
                    "name": "token",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9A-F]{32}$"},
                },
                {
                    "name": "ext",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ["ofd", "pdf", "zip"]},
                },
            ],
            "responses": {
                "200": {
                    "description": "the file",
                    "content": {
                        "application/ofd": {},
                        "application/pdf": {},
                        "application/zip": {},
                    },
                },
                "404": {
                    "description": "unknown or expired link: an envelope with status 10",
                    "content": _envelope_only(),
                },
                "405": {
                    "description": "not a GET: status 2, header Allow: GET",
                    "headers": {"Allow": {"schema": {"type": "string", "const": "GET"}}},
                    "content": _envelope_only(),
                },
            },
        }
    }


async def openapi_json(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return json_response(openapi_document(ctx.topology.path, ctx.node.name))
