"""Issue #3's acceptance on the demo network: real processes, the embedded broker, real catalogs.

National's catalog holds every node's own certificates and each province its subtree's; a
certificate issued at jl-changchun reaches jl and national; its cancellation travels up as ``D``;
a row outside the sender's jurisdiction comes back as an anomaly with its remark and, once the
certificate is corrected, is accepted on the next push. Deadlines are generous (a shared 2-core
machine); how fast it is, is measured by scripts/bench_exchange.py, not asserted here.

The network is the pytest plugin's (``ecert_network``: the demo, shared by the session's tests
that ask for it); the certificates issued here are new ones, so the tests stay independent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from gateway.control.testing import EcertNetwork
from nodes.catalog.validate import OUTSIDE_JURISDICTION
from nodes.model.identifiers import make_certificate_id, make_citizen_id, make_uscc

WITHIN = 60.0
RESIDENT_ID = "11100000000013127D001"  # 居民身份证 (A.4 example of SPEC §2.4)
CHANGCHUN_PSB = make_uscc("11220100MB0000001")  # a Changchun issuing authority


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WITHIN
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WITHIN} s: {what}")
        time.sleep(0.1)


def catalog_row(net: EcertNetwork, node_id: str, certificate_id: str) -> dict[str, Any] | None:
    body = net.admin(node_id, "GET", f"/admin/catalog?id={certificate_id}")
    rows: list[dict[str, Any]] = body["rows"]
    return rows[0] if rows else None


def resident_id_card(serial: int, *, area: str) -> dict[str, Any]:
    holder = make_citizen_id("220102", date(1988, 6, 1 + serial % 27), serial % 1000)
    return {
        "CertificateID": make_certificate_id(RESIDENT_ID, CHANGCHUN_PSB, f"E2E{serial:06d}"),
        "CertificateName": "居民身份证",
        "CertificateTypeName": "居民身份证",
        "CertificateTypeCode": RESIDENT_ID,
        "CertificateIssuingAuthorityName": "长春市公安局",
        "CertificateIssuingAuthorityCode": CHANGCHUN_PSB,
        "CertificateAreaCode": area,
        "CertificateHolderName": "测试人",
        "CertificateHolderCode": holder,
        "CertificateHolderTypeCode": "111",
        "CertificateNumber": holder,
        "CertificateIssuedDate": "2020-05-01",
    }


def subtree_sum(net: EcertNetwork, node_id: str) -> int:
    return sum(
        net.admin(node.id, "GET", "/admin/status")["certificates"]
        for node in net.topology.subtree(node_id)
    )


def test_catalogs_count_every_subtree_once(ecert_network: EcertNetwork) -> None:
    net = ecert_network

    def counts_match() -> bool:
        return all(
            net.admin(node_id, "GET", "/admin/status")["catalog_rows"] == subtree_sum(net, node_id)
            for node_id in ("national", "hlj", "jl")
        )

    eventually(counts_match, "national == every node's own, province == its subtree")
    national = net.admin("national", "GET", "/admin/status")
    own = [net.admin(n.id, "GET", "/admin/status") for n in net.topology.nodes]
    assert national["catalog_rows"] == sum(s["certificates"] for s in own) > 0


def test_a_new_certificate_reaches_national_and_its_cancellation_follows_as_d(
    ecert_network: EcertNetwork,
) -> None:
    net = ecert_network
    record = resident_id_card(1, area="220102")
    certificate_id = record["CertificateID"]
    net.seal("jl-changchun", record)  # the test authority's seal (README "Seals")
    net.admin("jl-changchun", "POST", "/admin/certificates", json=record)

    def everywhere(operation: str) -> bool:
        for node_id in ("jl", "national"):
            row = catalog_row(net, node_id, certificate_id)
            if row is None or row["cd_operation"] != operation:
                return False
        return True

    eventually(lambda: everywhere("I"), "the new certificate in jl's and national's catalogs")
    assert (catalog_row(net, "jl", certificate_id) or {})["via_node"] == "jl-changchun"
    assert (catalog_row(net, "national", certificate_id) or {})["via_node"] == "jl"

    change = {"status": "02", "reason": "持证人申请注销"}
    net.admin("jl-changchun", "POST", f"/admin/certificates/{certificate_id}/status", change)
    eventually(lambda: everywhere("D"), "the cancellation as D in jl's and national's catalogs")


def test_a_row_outside_the_jurisdiction_comes_back_and_is_accepted_once_corrected(
    ecert_network: EcertNetwork,
) -> None:
    net = ecert_network
    record = resident_id_card(2, area="230102")  # a Harbin area code, sent by Changchun
    certificate_id = record["CertificateID"]
    net.admin("jl-changchun", "POST", "/admin/certificates?validate=false", json=record)

    def anomalies(state: str) -> list[dict[str, Any]]:
        path = f"/admin/anomalies?state={state}&certificate_id={certificate_id}"
        found: list[dict[str, Any]] = net.admin("jl-changchun", "GET", path)["anomalies"]
        return found

    eventually(lambda: bool(anomalies("open")), "the anomaly in jl-changchun's E.2 table")
    [anomaly] = anomalies("open")
    assert anomaly["error_remark"] == OUTSIDE_JURISDICTION
    assert catalog_row(net, "jl", certificate_id) is None

    correction = {"CertificateAreaCode": "220102"}
    net.admin("jl-changchun", "PATCH", f"/admin/certificates/{certificate_id}", correction)

    def accepted() -> bool:
        return catalog_row(net, "jl", certificate_id) is not None and not anomalies("open")

    eventually(accepted, "the corrected row accepted by jl and the anomaly resolved")
    row = catalog_row(net, "jl", certificate_id)
    assert row is not None
    assert row["certificate_area_code"] == "220102"
    assert [a["error_remark"] for a in anomalies("resolved")] == [OUTSIDE_JURISDICTION]
