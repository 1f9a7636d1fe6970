"""``GET /metrics`` across a real network: a cross-province lookup moves the counters of every
node on its route, and each forward is counted at the node that made it."""

from __future__ import annotations

import urllib.request
from itertools import pairwise

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.control.testing import EcertNetwork

pytestmark = pytest.mark.ecert_topology(per_node=12)  # the network of test_console.py
ROUTE = ["hlj-harbin", "hlj", "national", "jl", "jl-changchun"]
BY_ID = "GetCertificateDataByCertificateID"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(network: EcertNetwork, node_id: str) -> Samples:
    with urllib.request.urlopen(f"{network.url(node_id)}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_a_cross_province_lookup_moves_the_counters_along_its_route(
    ecert_network: EcertNetwork,
) -> None:
    cert = ecert_network.certificates("jl-changchun", usable=True)[0]
    before = {node: scrape(ecert_network, node) for node in ROUTE}
    result = ecert_network.call(
        "hlj-harbin", BY_ID, CertificateID=cert["CertificateID"], UseFor="办理业务"
    )
    assert result.status == 0
    assert result.route == ROUTE
    after = {node: scrape(ecert_network, node) for node in ROUTE}
    for node in ROUTE:
        assert moved(before[node], after[node], "ecert_requests_total", method=BY_ID, code="0") == 1
    for node, next_hop in pairwise(ROUTE):
        forwards = moved(
            before[node], after[node], "ecert_forwards_total", neighbour=next_hop, outcome="0"
        )
        assert forwards == 1, node
    own = "ecert_request_own_duration_seconds_sum"
    total = "ecert_request_duration_seconds_sum"
    harbin_own = moved(before["hlj-harbin"], after["hlj-harbin"], own, method=BY_ID)
    harbin_total = moved(before["hlj-harbin"], after["hlj-harbin"], total, method=BY_ID)
    assert 0 < harbin_own < harbin_total  # the entry node waited on the rest of the route
