"""``GET /metrics``: the Prometheus text a dashboard reads, and counters that move with calls."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.core.faults import FaultRule, RuleKind
from tests.service.certs import issue, make_certificate
from tests.service.conftest import Node

USE_FOR = "办理户籍业务"


async def scrape(node: Node) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, parsed by prometheus-client's own parser."""
    status, headers, body = await node.get(f"{node.ctx.node.url}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_parse_and_show_the_store(node: Node) -> None:
    samples = await scrape(node)
    store = node.ctx.store
    assert value(samples, "ecert_certificates") == await store.certificates.count() > 0
    assert value(samples, "ecert_catalog_rows") == await store.catalog.count()
    assert value(samples, "ecert_outbox_pending") == await store.outbox.pending()
    assert value(samples, "ecert_open_anomalies") == 0
    assert ("ecert_last_exchange_timestamp_seconds", ()) in samples


async def test_request_counters_move_with_calls(node: Node) -> None:
    cert = make_certificate(10, expiring="")
    await issue(node.ctx, cert)
    before = await scrape(node)
    creds = await node.login()  # one Token call
    by_id = "GetCertificateDataByCertificateID"
    ok = await node.post(
        by_id, data={**creds, "CertificateID": cert.CertificateID, "UseFor": USE_FOR}
    )
    bad = await node.post(by_id, data={**creds, "UseFor": USE_FOR})  # no CertificateID
    assert (ok.code, bad.code) == ("0", "12")
    after = await scrape(node)
    moved = {
        (method, code): value(after, "ecert_requests_total", method=method, code=code)
        - value(before, "ecert_requests_total", method=method, code=code)
        for method, code in (("Token", "0"), (by_id, "0"), (by_id, "12"))
    }
    assert moved == {("Token", "0"): 1, (by_id, "0"): 1, (by_id, "12"): 1}
    count = "ecert_request_duration_seconds_count"
    assert value(after, count, method=by_id) - value(before, count, method=by_id) == 2
    assert value(after, "ecert_certificates") == value(before, "ecert_certificates")


async def test_unknown_method_names_share_one_label(node: Node) -> None:
    for name in ("NoSuchMethod", "AnotherOne"):
        reply = await node.post(name, data={})
        assert reply.code == "2"  # 证照源未提供此服务接口
    samples = await scrape(node)
    assert value(samples, "ecert_requests_total", method="unknown", code="2") == 2
    assert not any("NoSuchMethod" in str(labels) for _, labels in samples)


async def test_faults_active_counts_the_rules_in_force(node: Node) -> None:
    assert value(await scrape(node), "ecert_faults_active") == 0
    node.ctx.faults.add(FaultRule(id="m-1", kind=RuleKind.LATENCY, latency_ms=1))
    node.ctx.faults.add(FaultRule(id="m-2", kind=RuleKind.ERROR, fraction=0.5))
    assert value(await scrape(node), "ecert_faults_active") == 2
    node.ctx.faults.remove("m-1")
    assert value(await scrape(node), "ecert_faults_active") == 1
    node.ctx.faults.clear()
    assert value(await scrape(node), "ecert_faults_active") == 0
