"""The values a scenario step holds: node ids, methods, return codes, addresses, what a call must
answer (``Expect``) and a certificate's fields (``CertificateFields``), as pydantic types.

Strict: a number where a text belongs (or the reverse) is refused, not converted; dates YAML
reads unquoted are taken as the text they were.
"""

from __future__ import annotations

import ipaddress
from contextlib import suppress
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from gateway.control.faults.spec import parse_duration
from gateway.core.protocol import ReturnCode
from gateway.core.topology import NODE_ID_PATTERN

DEFAULT_FROM_IP = "127.0.9.1"  # as gateway.control.app_client's: no node of a network there
DEFAULT_SEED = 2836  # ``ecert up``'s
DEFAULT_PER_NODE = 40
EXTENSION_PREFIX = "x-"

NodeId = Annotated[str, Field(pattern=NODE_ID_PATTERN, description="a node id of the topology")]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
Seconds = Annotated[float, Field(gt=0, le=3600)]


def _duration(value: Any) -> Any:
    """A number or text such as ``3s``, kept as given (``FaultSpec`` reads it); one clear error
    for anything else."""
    if not isinstance(value, bool) and isinstance(value, int | float):
        return value
    if isinstance(value, str):
        with suppress(ValueError):
            parse_duration(value)
            return value
    raise ValueError(f"{value!r} is not a duration (a number, or such as 3s, 200ms, 1.5m, 2h, 1d)")


Duration = Annotated[
    float | Annotated[str, Field(pattern=r"^[+-]?\d+(\.\d+)?\s*(ms|s|m|h|d)?$")],
    BeforeValidator(_duration),
    Field(description="a number, or text with a unit: 200ms, 3s, 1.5m, 2h, 1d"),
]
FaultKindName = Literal[
    "kill", "pause", "cut", "latency", "drop", "error", "slow", "skew", "broker-restart",
    "broker-down",
]  # fmt: skip
ALL_FAULTS = "all"  # ``heal: all``
CertificateRef = Annotated[
    str,
    Field(min_length=1, description="a CertificateID, or ${issued.NAME} of an earlier issue step"),
]
Method = Literal[
    "GetCertificateFileByHolder",
    "GetCertificateFileByCertificateID",
    "GetCertificateDataByHolder",
    "GetCertificateDataByCertificateID",
    "VerifyCertificate",
    "GetCertificatePictureByCertificateID",
    "GetCertificatePictureByHolder",
    "GetCertificateType",
    "Retrieval",
]
ByIdMethod = Literal[
    "GetCertificateDataByCertificateID",
    "GetCertificateFileByCertificateID",
    "GetCertificatePictureByCertificateID",
]
CertificateStatusCode = Literal["01", "02", "03", "04", "05"]
RETURN_CODES = tuple(int(code) for code in ReturnCode)


def _known_code(code: int) -> int:
    if code not in RETURN_CODES:
        raise ValueError(f"{code} is not a return code of SPEC §3.4 ({RETURN_CODES})")
    return code


ReturnCodeValue = Annotated[
    int, AfterValidator(_known_code), Field(json_schema_extra={"enum": list(RETURN_CODES)})
]


def _date_text(value: Any) -> Any:
    """A date YAML read unquoted (2020-05-01) as the text it was."""
    return value.isoformat() if isinstance(value, date) else value


DateText = Annotated[str, BeforeValidator(_date_text)]


def _ip(value: str) -> str:
    ipaddress.ip_address(value)  # raises ValueError for what is not an address
    return value


IpAddress = Annotated[str, AfterValidator(_ip)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# -- what a call must answer ----------------------------------------------------------------------
class Expect(Strict):
    """What the answer of a ``call`` must be. Only what is given is checked; ``status`` is 0
    unless given."""

    status: ReturnCodeValue = Field(0, description="head.status, as a number")
    route: list[NodeId] | None = Field(
        None, description="the exact X-Ecert-Route: every node that handled the call, in order"
    )
    total: Annotated[int, Field(ge=0)] | None = Field(
        None, description="data.total: how many items"
    )
    keys: list[str] | None = Field(None, description="keys every item of data.dataList has")
    verifyResult: bool | None = Field(None, description="VerifyCertificate's data.verifyResult")
    fields: dict[str, str | int | bool | None] | None = Field(
        None,
        description="values in data by dotted path, e.g. dataList.0.certificateHolderCode; "
        "strings are compared with the value as text",
    )
    max_ms: Annotated[float, Field(gt=0)] | None = Field(
        None, description="the whole call, as the application timed it, in milliseconds"
    )


# -- certificates ---------------------------------------------------------------------------------
class CertificateFields(Strict):
    """Fields of a certificate record (SPEC §2.1, B.1 and B.2 elements), all optional here: the
    node checks the record. Without ``CertificateID`` the node assigns one."""

    CertificateID: str | None = None
    CertificateName: str | None = None
    CertificateTypeName: str | None = None
    CertificateTypeCode: str | None = None
    RelatedItemName: str | None = None
    RelatedItemCode: str | None = None
    CertificateIssuingAuthorityName: str | None = None
    CertificateIssuingAuthorityCode: str | None = None
    CertificateAreaCode: str | None = None
    CertificateHolderName: str | None = None
    CertificateHolderCode: str | None = None
    CertificateHolderTypeCode: str | None = None
    CertificateNumber: str | None = None
    CertificateIssuedDate: DateText | None = None
    CertificateEffectiveDate: DateText | None = None
    CertificateExpiringDate: DateText | None = None
    CertificateStatus: CertificateStatusCode | None = None
    CertificateStatusChangeReason: str | None = None
    surface: list[dict[str, Any]] | None = None
    detail: list[dict[str, Any]] | None = None

    def record(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


CERTIFICATE_FIELDS = frozenset(CertificateFields.model_fields)
