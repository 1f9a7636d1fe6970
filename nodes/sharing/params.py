"""Request parameters of the ten §7.3 methods (SPEC §3.2, §3.3), one pydantic model per method.

Bodies arrive as form fields or a JSON object with the same names; ``parse_params`` validates them
and answers the normalised parameters as strings (``MethodCall.params``). A missing or empty
required parameter is 12 naming it; a malformed value (bad check character, code outside its code
set, bad date, too long, wrong JSON type) is 15 naming it. The same models generate the OpenAPI
document, so the contract and the check cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from nodes.errors import NodeError, ParameterInvalid, ParameterMissing
from nodes.model.codes import HOLDER_TYPE_NAMES, is_type_code
from nodes.model.dates import normalise_date, normalise_optional_date
from nodes.model.identifiers import is_citizen_id, is_uscc, parse_certificate_id

MAX_USE_FOR = 200  # UseFor, SPEC §3.2
MAX_TEXT = 256  # any other parameter

Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, max_length=MAX_TEXT)]
IssueDate = Annotated[Text, AfterValidator(normalise_date)]  # as YYYY-MM-DD
ValidityDate = Annotated[Text, AfterValidator(normalise_optional_date)]  # "" means 长期
UseForText = Annotated[
    str, StringConstraints(strict=True, strip_whitespace=True, max_length=MAX_USE_FOR)
]


def _drop_blank(values: Any) -> Any:
    """Absent, null and blank values are all "not given" (so a blank required one is 12)."""
    if not isinstance(values, Mapping):
        return values
    return {
        key: value
        for key, value in values.items()
        if value is not None and not (isinstance(value, str) and not value.strip())
    }


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, values: Any) -> Any:
        return _drop_blank(values)


class TokenParams(_Params):
    """7.3.1 Token."""

    AccountId: Text = Field(description="账号 (assigned by the node's administrator)")


class AuthenticatedParams(_Params):
    """Every method but Token carries the account and its token of the day (SPEC §3.2)."""

    AccountId: Text = Field(description="账号")
    AccessToken: Text = Field(description="访问令牌 (Token method, valid for the day)")


class TypeListParams(AuthenticatedParams):
    """7.3.9 GetCertificateType."""


class ByCertificateIdParams(AuthenticatedParams):
    """7.3.5 GetCertificateDataByCertificateID, 7.3.7 GetCertificatePictureByCertificateID."""

    CertificateID: Text = Field(description="证照标识 (GB/T 36904)")
    UseFor: UseForText = Field(description="用途 (at most 200 characters)")

    @field_validator("CertificateID")
    @classmethod
    def _certificate_id(cls, value: str) -> str:
        parse_certificate_id(value)
        return value


def _format(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class FileByCertificateIdParams(ByCertificateIdParams):
    """7.3.3 GetCertificateFileByCertificateID."""

    Format: Literal["ofd", "pdf"] | None = Field(None, description="文件格式: ofd (default) or pdf")

    _lower = field_validator("Format", mode="before")(_format)


def _holder_code_check(holder_type: str | None, code: str | None) -> None:
    if holder_type == "001" and code and not is_uscc(code):
        raise PydanticCustomError(
            "holder_code",
            "fails the GB 32100 check for holder type 001",
            {"parameter": "CertificateHolderCode"},
        )
    if holder_type == "111" and code and not is_citizen_id(code):
        raise PydanticCustomError(
            "holder_code",
            "fails the GB 11643 check for holder type 111",
            {"parameter": "CertificateHolderCode"},
        )


class _HolderParams(AuthenticatedParams):
    CertificateHolderCode: Text = Field(description="持证主体代码")
    CertificateHolderType: Text | None = Field(None, description="持证主体代码类型 (A.2)")

    @field_validator("CertificateHolderType")
    @classmethod
    def _holder_type(cls, value: str | None) -> str | None:
        if value is not None and value not in HOLDER_TYPE_NAMES:
            raise ValueError(f"{value!r} is not a holder type code of A.2")
        return value

    @model_validator(mode="after")
    def _holder_code(self) -> _HolderParams:
        _holder_code_check(self.CertificateHolderType, self.CertificateHolderCode)
        return self


def _type_code(value: str | None) -> str | None:
    if value is not None and not is_type_code(value):
        raise ValueError("must be an 18-character USCC and a 3-digit sequence (A.4)")
    return value


class ByHolderParams(_HolderParams):
    """7.3.4 GetCertificateDataByHolder, 7.3.8 GetCertificatePictureByHolder."""

    CertificateTypeCode: Text = Field(description="证照类型代码 (A.4)")
    CertificateNumber: Text | None = Field(None, description="证照编号")
    UseFor: UseForText = Field(description="用途 (at most 200 characters)")

    _type = field_validator("CertificateTypeCode")(_type_code)


class FileByHolderParams(ByHolderParams):
    """7.3.2 GetCertificateFileByHolder."""

    Format: Literal["ofd", "pdf"] | None = Field(None, description="文件格式: ofd (default) or pdf")

    _lower = field_validator("Format", mode="before")(_format)


class RetrievalParams(_HolderParams):
    """7.3.10 Retrieval."""

    CertificateTypeCode: Text | None = Field(None, description="证照类型代码 (A.4)")
    CertificateNumber: Text | None = Field(None, description="证照编号")
    UseFor: UseForText = Field(description="用途 (at most 200 characters)")

    _type = field_validator("CertificateTypeCode")(_type_code)


class VerifyData(_Params):
    """Table 11: the certificate data to verify (the first 11 keys of a data item)."""

    certificateType: Text = Field(description="证照类型名称")
    certificateName: Text = Field(description="证照名称")
    certificateHolder: Text = Field(description="持证主体")
    certificateHolderCode: Text = Field(description="持证主体代码")
    certificateHolderType: Text = Field(description="持证主体代码类型")
    issueDept: Text = Field(description="证照颁发机构")
    issueDeptCode: Text = Field(description="证照颁发机构代码")
    certificateNumber: Text = Field(description="证照编号")
    issueDate: IssueDate = Field(description="证照颁发日期")
    certificateValidateStart: ValidityDate | None = Field(None, description="有效期起始日期")
    certificateValidateEnd: ValidityDate | None = Field(None, description="有效期截止日期")


class VerifyParams(AuthenticatedParams):
    """7.3.6 VerifyCertificate."""

    CertificateTypeCode: Text = Field(description="证照类型代码 (A.4)")
    CertificateID: Text | None = Field(None, description="证照标识 (GB/T 36904)")
    CertificateData: VerifyData = Field(
        description="Table 11 data: a JSON object (a JSON string inside a form body)"
    )
    UseFor: UseForText = Field(description="用途 (at most 200 characters)")

    _type = field_validator("CertificateTypeCode")(_type_code)

    @field_validator("CertificateID")
    @classmethod
    def _certificate_id(cls, value: str | None) -> str | None:
        if value is not None:
            parse_certificate_id(value)
        return value

    @field_validator("CertificateData", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise ValueError("CertificateData is not valid JSON") from exc
        if not isinstance(value, dict):
            raise ValueError("CertificateData must be a JSON object")
        return value


PARAMS: Mapping[str, type[_Params]] = MappingProxyType(
    {
        "Token": TokenParams,
        "GetCertificateFileByHolder": FileByHolderParams,
        "GetCertificateFileByCertificateID": FileByCertificateIdParams,
        "GetCertificateDataByHolder": ByHolderParams,
        "GetCertificateDataByCertificateID": ByCertificateIdParams,
        "VerifyCertificate": VerifyParams,
        "GetCertificatePictureByCertificateID": ByCertificateIdParams,
        "GetCertificatePictureByHolder": ByHolderParams,
        "GetCertificateType": TypeListParams,
        "Retrieval": RetrievalParams,
    }
)


def parse_params(method: str, raw: Mapping[str, Any]) -> dict[str, str]:
    """Validate ``raw`` for ``method``; answer the normalised parameters that were given.

    Raises ParameterMissing (12) or ParameterInvalid (15) naming the parameter.
    """
    try:
        model = PARAMS[method].model_validate(raw)
    except ValidationError as exc:
        raise _as_node_error(exc) from None
    params: dict[str, Any] = model.model_dump(exclude_none=True)
    data = params.get("CertificateData")
    if data is not None:  # MethodCall.params are strings: the Table 11 object as compact JSON
        params["CertificateData"] = orjson.dumps(data).decode()
    return params


def certificate_data(params: Mapping[str, str]) -> dict[str, str]:
    """The normalised Table 11 object of a validated VerifyCertificate call."""
    data: dict[str, str] = orjson.loads(params["CertificateData"])
    return data


def _as_node_error(exc: ValidationError) -> NodeError:
    errors = exc.errors(include_url=False, include_input=False)
    for error in errors:
        if error["type"] == "missing":
            return ParameterMissing(_name(error))
    error = errors[0]
    reason = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("string_type", "model_type", "literal_error", "dict_type"):
        reason = f"{reason} (wrong type or value)"
    return ParameterInvalid(_name(error), reason)


def _name(error: Any) -> str:
    context = error.get("ctx") or {}
    if "parameter" in context:
        return str(context["parameter"])
    parts = [str(part) for part in error["loc"]]
    return ".".join(parts) or "body"


# -- calls from a peer node ------------------------------------------------------------------------
_LIMITS = MappingProxyType({"UseFor": MAX_USE_FOR})
_FORMATS = frozenset({"ofd", "pdf"})
_PEER_FIELDS: Mapping[str, tuple[tuple[str, ...], frozenset[str]]] = MappingProxyType(
    {
        method: (
            tuple(model.model_fields),
            frozenset(name for name, info in model.model_fields.items() if info.is_required()),
        )
        for method, model in PARAMS.items()
        if method
        not in ("Token", "VerifyCertificate")  # CertificateData is parsed: always validated
    }
)


def peer_params(method: str, raw: Mapping[str, Any]) -> dict[str, str] | None:
    """The parameters of a call from a peer node, checked lightly; None: use ``parse_params``.

    Only for calls authenticated with a peer account: the entry node validated the application's
    parameters with ``parse_params`` and forwards its result, so a peer call is the same
    normalised dict. Here every parameter of the method must be a string within its length
    limit, the required ones given and ``Format`` one of its values — anything else takes the
    full validation (and its 12/15). The same dict as ``parse_params`` for what a node forwards;
    the owner's checks of what it uses (an unknown CertificateID is 10) do the rest.
    """
    known = _PEER_FIELDS.get(method)
    if known is None:
        return None
    fields, required = known
    params: dict[str, str] = {}
    for name in fields:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > _LIMITS.get(name, MAX_TEXT):
            return None
        value = value.strip()
        if value:
            params[name] = value
    if not required.issubset(params):
        return None
    format_ = params.get("Format")
    if format_ is not None:
        params["Format"] = format_ = format_.lower()
        if format_ not in _FORMATS:
            return None
    return params
