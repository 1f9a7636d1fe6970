"""Issue #3's acceptance on the demo shape: real processes, the embedded broker, real catalogs.

National's catalog holds every node's own certificates and each province its subtree's; a
certificate issued at jl-changchun reaches jl and national; its cancellation travels up as ``D``;
a row outside the sender's jurisdiction comes back as an anomaly with its remark and, once the
certificate is corrected, is accepted on the next push. Deadlines are generous (a shared 2-core
machine); how fast it is, is measured by scripts/bench_exchange.py, not asserted here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from nodes.catalog.validate import OUTSIDE_JURISDICTION
from nodes.model.identifiers import make_certificate_id, make_citizen_id, make_uscc
from tests.e2e.harness import Network

WITHIN = 60.0
RESIDENT_ID = "11100000000013127D001"  # 居民身份证 (A.4 example of SPEC §2.4)
CHANGCHUN_PSB = make_uscc("11220100MB0000001")  # a Changchun issuing authority


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WITHIN
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {WITHIN} s: {what}")
        await asyncio.sleep(0.1)


async def catalog_row(net: Network, node_id: str, certificate_id: str) -> dict[str, Any] | None:
    body = await net.admin(node_id, "GET", f"/admin/catalog?id={certificate_id}")
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


async def subtree_sum(net: Network, node_id: str) -> int:
    total = 0
    for node in net.topology.subtree(node_id):
        total += (await net.admin(node.id, "GET", "/admin/status"))["certificates"]
    return total


async def test_catalogs_count_every_subtree_once(demo_network: Network) -> None:
    net = demo_network

    async def counts_match() -> bool:
        for node_id in ("national", "hlj", "jl"):
            status = await net.admin(node_id, "GET", "/admin/status")
            if status["catalog_rows"] != await subtree_sum(net, node_id):
                return False
        return True

    await eventually(counts_match, "national == every node's own, province == its subtree")
    national = await net.admin("national", "GET", "/admin/status")
    own = [await net.admin(n.id, "GET", "/admin/status") for n in net.topology.nodes]
    assert national["catalog_rows"] == sum(s["certificates"] for s in own) > 0


async def test_a_new_certificate_reaches_national_and_its_cancellation_follows_as_d(
    demo_network: Network,
) -> None:
    net = demo_network
    record = resident_id_card(1, area="220102")
    certificate_id = record["CertificateID"]
    await net.admin("jl-changchun", "POST", "/admin/certificates", json=record)

    async def everywhere(operation: str) -> bool:
        for node_id in ("jl", "national"):
            row = await catalog_row(net, node_id, certificate_id)
            if row is None or row["cd_operation"] != operation:
                return False
        return True

    await eventually(lambda: everywhere("I"), "the new certificate in jl's and national's catalogs")
    assert (await catalog_row(net, "jl", certificate_id))["via_node"] == "jl-changchun"
    assert (await catalog_row(net, "national", certificate_id))["via_node"] == "jl"

    change = {"status": "02", "reason": "持证人申请注销"}
    await net.admin("jl-changchun", "POST", f"/admin/certificates/{certificate_id}/status", change)
    await eventually(
        lambda: everywhere("D"), "the cancellation as D in jl's and national's catalogs"
    )


async def test_a_row_outside_the_jurisdiction_comes_back_and_is_accepted_once_corrected(
    demo_network: Network,
) -> None:
    net = demo_network
    record = resident_id_card(2, area="230102")  # a Harbin area code, sent by Changchun
    certificate_id = record["CertificateID"]
    await net.admin("jl-changchun", "POST", "/admin/certificates?validate=false", json=record)

    async def anomalies(state: str) -> list[dict[str, Any]]:
        path = f"/admin/anomalies?state={state}&certificate_id={certificate_id}"
        body = await net.admin("jl-changchun", "GET", path)
        found: list[dict[str, Any]] = body["anomalies"]
        return found

    async def reported() -> bool:
        return bool(await anomalies("open"))

    await eventually(reported, "the anomaly in jl-changchun's E.2 table")
    [anomaly] = await anomalies("open")
    assert anomaly["error_remark"] == OUTSIDE_JURISDICTION
    assert await catalog_row(net, "jl", certificate_id) is None

    correction = {"CertificateAreaCode": "220102"}
    await net.admin("jl-changchun", "PATCH", f"/admin/certificates/{certificate_id}", correction)

    async def accepted() -> bool:
        row = await catalog_row(net, "jl", certificate_id)
        return row is not None and not await anomalies("open")

    await eventually(accepted, "the corrected row accepted by jl and the anomaly resolved")
    row = await catalog_row(net, "jl", certificate_id)
    assert row is not None
    assert row["certificate_area_code"] == "220102"
    assert [a["error_remark"] for a in await anomalies("resolved")] == [OUTSIDE_JURISDICTION]
