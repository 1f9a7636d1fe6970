"""Catalog ingest refuses a row whose type code is in no type catalogue (an E.2 row with its own
remark), and accepts the rows of a type defined lower down, whose definition travels up ahead of
them (the push loop publishes types before batches). Demo network, real processes and broker."""

from __future__ import annotations

from typing import Any

from gateway.control.testing import EcertNetwork
from nodes.catalog.validate import UNKNOWN_TYPE
from nodes.model.identifiers import make_certificate_id
from tests.e2e.test_demo_aggregation import CHANGCHUN_PSB, catalog_row, resident_id_card

OWNER = "jl-changchun"


def with_type(serial: int, type_code: str) -> dict[str, Any]:
    record = resident_id_card(serial, area="220102")
    record["CertificateTypeCode"] = type_code
    record["CertificateID"] = make_certificate_id(type_code, CHANGCHUN_PSB, f"TYP{serial:06d}")
    return record


def open_anomalies(net: EcertNetwork, certificate_id: str) -> list[dict[str, Any]]:
    path = f"/admin/anomalies?state=open&certificate_id={certificate_id}"
    found: list[dict[str, Any]] = net.admin(OWNER, "GET", path)["anomalies"]
    return found


def test_rows_of_an_unknown_type_come_back_and_of_a_type_defined_below_go_through(
    ecert_network: EcertNetwork,
) -> None:
    net = ecert_network
    unknown = with_type(601, CHANGCHUN_PSB + "901")  # a type nobody defined
    net.seal(OWNER, unknown)  # the test authority's seal (README "Seals")
    net.admin(OWNER, "POST", "/admin/certificates", unknown)
    defined_code = CHANGCHUN_PSB + "902"
    net.admin(OWNER, "POST", "/admin/types", {
        "CertificateTypeName": "测试证明", "CertificateTypeCode": defined_code,
        "CertificateDefineAuthorityName": "长春市公安局",
        "CertificateDefineAuthorityCode": CHANGCHUN_PSB,
        "CertificateDefineAuthorityLevel": "市级", "CertificateHolderCategory": "自然人",
        "ValidityRange": "本市", "CertificateIssuingAuthorityLevel": "市级",
    })  # fmt: skip
    defined = with_type(602, defined_code)  # issued at once, before any approval
    net.admin(OWNER, "POST", "/admin/certificates", defined)
    net.wait()  # every row acknowledged up to national, or back as an anomaly

    [anomaly] = open_anomalies(net, unknown["CertificateID"])
    assert anomaly["error_remark"] == UNKNOWN_TYPE
    assert catalog_row(net, "jl", unknown["CertificateID"]) is None
    assert open_anomalies(net, defined["CertificateID"]) == []
    row = catalog_row(net, "national", defined["CertificateID"])
    assert row is not None
    assert row["via_node"] == "jl"
