"""Certificates: B.1 basic, B.2 management, B.3 copy data, surface and detail (SPEC §2)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nodes.model.codes import HOLDER_TYPE_NAMES
from nodes.model.codes import CertificateStatus as Status
from nodes.model.dates import parse_date
from nodes.model.fields import AreaCode, CertificateId, IsoDate, OptionalIsoDate, TypeCode, Uscc
from nodes.model.identifiers import is_citizen_id, is_uscc, parse_certificate_id


class SurfaceItem(BaseModel):
    """照面信息: one labelled value on the face of the certificate."""

    model_config = ConfigDict(extra="forbid")

    name: str
    columnName: str
    valueType: str = "string"
    value: str = ""


class DetailValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    columnName: str
    valueType: str = "string"
    value: str = ""
    orderNum: int = 0


class DetailGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str
    datalist: list[DetailValue] = []


NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]


class Certificate(BaseModel):
    """B.1 (16 items) + B.2 (3 items) + 照面信息; names are the standard's element names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # B.1 basic data
    CertificateID: CertificateId
    CertificateName: NonEmpty
    CertificateTypeName: NonEmpty
    CertificateTypeCode: TypeCode
    RelatedItemName: str = ""
    RelatedItemCode: str = ""
    CertificateIssuingAuthorityName: NonEmpty
    CertificateIssuingAuthorityCode: Uscc
    CertificateAreaCode: AreaCode
    CertificateHolderName: NonEmpty
    CertificateHolderCode: NonEmpty
    CertificateHolderTypeCode: str = ""
    CertificateNumber: NonEmpty
    CertificateIssuedDate: IsoDate
    CertificateEffectiveDate: OptionalIsoDate = ""
    CertificateExpiringDate: OptionalIsoDate = ""  # "" means 长期
    # B.2 management data
    CertificateStatus: Status = Status.NORMAL
    CertificateStatusChangeReason: str = ""
    CertificateStatusChangeTime: str = ""
    # 照面信息 and 明细
    surface: list[SurfaceItem] = []
    detail: list[DetailGroup] = []
    # the issuing authority's e-seal [P]: its SealID and the base64 DER SM2 signature over the
    # canonical data (nodes.seals.canonical), set by the node at every write (nodes.issuing)
    CertificateSealID: str = ""
    CertificateSignature: str = ""

    @model_validator(mode="after")
    def _holder(self) -> Certificate:
        holder_type, code = self.CertificateHolderTypeCode, self.CertificateHolderCode
        if holder_type and holder_type not in HOLDER_TYPE_NAMES:
            raise ValueError(f"CertificateHolderTypeCode {holder_type!r} is not in A.2")
        if holder_type == "001" and not is_uscc(code):
            raise ValueError("CertificateHolderCode fails the GB 32100 check for holder type 001")
        if holder_type == "111" and not is_citizen_id(code):
            raise ValueError("CertificateHolderCode fails the GB 11643 check for holder type 111")
        parts = parse_certificate_id(self.CertificateID)
        if parts.type_code != self.CertificateTypeCode:
            raise ValueError("CertificateID names another CertificateTypeCode")
        return self

    # -- derived --------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return int(parse_certificate_id(self.CertificateID).version)

    def expired_on(self, today: date) -> bool:
        return (
            bool(self.CertificateExpiringDate) and parse_date(self.CertificateExpiringDate) < today
        )

    def to_record(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class CertificateCopy(BaseModel):
    """B.3 copy data: recorded for every file or picture handed out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    CertificateCopyCreationTime: datetime
    CertificateCopyCreationOrganization: str
    CertificateCopyCreationCause: str  # the caller's UseFor
    CertificateCopyExpiringTime: datetime


def unvalidated(record: dict[str, Any]) -> Certificate:
    """A Certificate of the values as given, not checked (a record stored on purpose with its
    faults); ``ValueError`` when a value is not even of its type."""
    values: dict[str, Any] = {}
    for name, info in Certificate.model_fields.items():
        value = record.get(name, info.default if not info.is_required() else "")
        if name in ("surface", "detail"):
            model = SurfaceItem if name == "surface" else DetailGroup
            if not isinstance(value or [], list):
                raise ValueError(f"{name} must be a list")
            value = [model.model_validate(item) for item in value or []]
        elif name == "CertificateStatus":
            value = Status(value)
        elif not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
        values[name] = value
    return Certificate.model_construct(**values)
