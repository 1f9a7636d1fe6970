"""Certificate types: the GB/T 36902 catalogue elements of Table 18 plus a surface template."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from nodes.model.fields import TypeCode, Uscc


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
    CertificateTypeCode: TypeCode
    CertificateDefineAuthorityName: str
    CertificateDefineAuthorityCode: Uscc
    CertificateDefineAuthorityLevel: str  # 国家级 / 省级 / 市级
    RelatedItemName: str = ""
    RelatedItemCode: str = ""
    CertificateHolderCategory: str  # 自然人 / 法人和其他组织
    ValidityRange: str  # 全国 / 本省 / 本市
    CertificateIssuingAuthorityLevel: str
    surface_template: tuple[SurfaceColumn, ...] = ()

    def table18(self) -> dict[str, str]:
        """The ten items GetCertificateType answers with."""
        return self.model_dump(mode="json", exclude={"surface_template"})
