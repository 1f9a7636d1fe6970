"""Certificates made to order for service tests: one holder, one type, the status we need."""

from __future__ import annotations

from datetime import date
from typing import Any

from nodes.context import NodeContext
from nodes.issuing import record_changes
from nodes.model.certificate import Certificate
from nodes.model.codes import CdOperation
from nodes.model.identifiers import make_certificate_id, make_citizen_id
from nodes.synth.catalogue import BY_CODE, RESIDENT_ID
from nodes.synth.ids import authority_uscc

ISSUER = authority_uscc("230100", "77000001")  # 哈尔滨市公安局 of these tests
ISSUER_NAME = "哈尔滨市公安局"
# the body of POST /admin/seals that gives the test authority a seal (README "Seals")
TEST_SEAL = {
    "CertificateIssuingAuthorityName": ISSUER_NAME,
    "CertificateIssuingAuthorityCode": ISSUER,
}


def citizen(sequence: int) -> str:
    """A valid 公民身份号码 of a test holder (sequence 1..999)."""
    return make_citizen_id("230102", date(1990, 1, 1), sequence)


def make_certificate(
    serial: int,
    *,
    holder: int | None = None,
    status: str = "01",
    expiring: str = "2045-01-01",
    **changes: Any,
) -> Certificate:
    """A 居民身份证 of holder ``citizen(holder or serial)`` with the given status and expiry."""
    ctype = BY_CODE[RESIDENT_ID]
    code = citizen(holder or serial)
    name = f"测试{serial:03d}"
    record: dict[str, Any] = {
        "CertificateID": make_certificate_id(RESIDENT_ID, ISSUER, f"T{serial:08d}"),
        "CertificateName": ctype.CertificateTypeName,
        "CertificateTypeName": ctype.CertificateTypeName,
        "CertificateTypeCode": RESIDENT_ID,
        "CertificateIssuingAuthorityName": ISSUER_NAME,
        "CertificateIssuingAuthorityCode": ISSUER,
        "CertificateAreaCode": "230100",
        "CertificateHolderName": name,
        "CertificateHolderCode": code,
        "CertificateHolderTypeCode": "111",
        "CertificateNumber": code,
        "CertificateIssuedDate": "2015-03-01",
        "CertificateEffectiveDate": "2015-03-01",
        "CertificateExpiringDate": expiring,
        "CertificateStatus": status,
        "surface": [
            {"name": column.name, "columnName": column.columnName, "value": f"{column.name}值"}
            for column in ctype.surface_template
        ],
    }
    record.update(changes)
    return Certificate.model_validate(record)


async def issue(
    ctx: NodeContext, *certificates: Certificate, operation: CdOperation = CdOperation.INSERT
) -> None:
    await record_changes(ctx, [(cert, operation) for cert in certificates])
