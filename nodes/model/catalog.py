"""E.1 / E.2 catalog rows (SPEC §6.1) and the row a certificate contributes to the catalog."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gateway.core.topology import NodeSpec
from nodes.model.certificate import Certificate
from nodes.model.codes import CdOperation, CertificateStatus

DEFAULT_DATA_SOURCE = "000"  # nodes the topology gives no A.3 code (national, ministry, province)
_ENDED = frozenset({CertificateStatus.CANCELLED, CertificateStatus.REVOKED})


class CatalogRow(BaseModel):
    """E.1 电子证照目录信息表. Values are kept as received: validation is a separate step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate_source_id: str = ""
    certificate_name: str = ""
    certificate_type: str = ""
    certificate_type_code: str = ""
    issue_dept: str = ""
    issue_dept_code: str = ""
    certificate_area_code: str = ""
    certificate_holder: str = ""
    certificate_holder_code: str = ""
    certificate_holder_type: str = ""
    certificate_number: str = ""
    issue_date: str = ""
    data_source: str = ""
    cd_operation: str = ""
    cd_time: str = ""
    cd_batch: str = ""


class AnomalyRow(CatalogRow):
    """E.2 异常电子证照目录信息表: E.1 plus 异常说明."""

    error_remark: str


def data_source_of(node: NodeSpec) -> str:
    """A.3 data source of a node's rows: the topology assigns it below a province."""
    return node.data_source or DEFAULT_DATA_SOURCE


def operation_for(cert: Certificate, *, new: bool) -> CdOperation:
    """The cd_operation of a change to ``cert``: D when it is 注销/吊销 (02/03), else I for a
    certificate new to this node's catalog, U for one it held."""
    if cert.CertificateStatus in _ENDED:
        return CdOperation.DELETE
    return CdOperation.INSERT if new else CdOperation.UPDATE


def row_from_certificate(
    cert: Certificate, *, data_source: str, operation: CdOperation, cd_time: str
) -> CatalogRow:
    return CatalogRow(
        certificate_source_id=cert.CertificateID,
        certificate_name=cert.CertificateName,
        certificate_type=cert.CertificateTypeName,
        certificate_type_code=cert.CertificateTypeCode,
        issue_dept=cert.CertificateIssuingAuthorityName,
        issue_dept_code=cert.CertificateIssuingAuthorityCode,
        certificate_area_code=cert.CertificateAreaCode,
        certificate_holder=cert.CertificateHolderName,
        certificate_holder_code=cert.CertificateHolderCode,
        certificate_holder_type=cert.CertificateHolderTypeCode,
        certificate_number=cert.CertificateNumber,
        issue_date=cert.CertificateIssuedDate,
        data_source=data_source,
        cd_operation=operation.value,
        cd_time=cd_time,
    )
