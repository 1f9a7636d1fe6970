"""Certificate types: the GB/T 36902 catalogue elements of Table 18 plus a surface template."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.model.codes import is_type_code
from nodes.model.identifiers import is_uscc


class SurfaceColumn(BaseModel):
    """One column of a type's surface template (照面模板)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    columnName: str
    valueType: str = "string"


class CertificateType(BaseModel):
    """Table 18 items (wire names as the table gives them) and the surface template."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    CertificateTypeName: str
    CertificateTypeCode: str
    CertificateDefineAuthorityName: str
    CertificateDefineAuthorityCode: str
    CertificateDefineAuthorityLevel: str  # 国家级 / 省级 / 市级
    RelatedItemName: str = ""
    RelatedItemCode: str = ""
    CertificateHolderCategory: str  # 自然人 / 法人和其他组织
    ValidityRange: str  # 全国 / 本省 / 本市
    CertificateIssuingAuthorityLevel: str
    surface_template: tuple[SurfaceColumn, ...] = ()

    @field_validator("CertificateTypeCode")
    @classmethod
    def _type_code(cls, value: str) -> str:
        if not is_type_code(value):
            raise ValueError("CertificateTypeCode must be an 18-char USCC + 3 digits (A.4)")
        return value

    @field_validator("CertificateDefineAuthorityCode")
    @classmethod
    def _authority(cls, value: str) -> str:
        if not is_uscc(value):
            raise ValueError("CertificateDefineAuthorityCode must be a valid USCC (GB 32100)")
        return value

    def table18(self) -> dict[str, str]:
        """The ten items GetCertificateType answers with."""
        return self.model_dump(mode="json", exclude={"surface_template"})
