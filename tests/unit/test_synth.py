"""The synthetic data generator: deterministic, valid under every check, inside jurisdictions,
with the required mix of statuses and holders that travel across provinces."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from gateway.core.areas import is_area_code
from gateway.core.topology import Topology, load_topology
from nodes.model.certificate import Certificate
from nodes.model.codes import in_jurisdiction, is_type_code
from nodes.model.identifiers import is_certificate_id, is_citizen_id, is_uscc, parse_certificate_id
from nodes.synth import (
    CATALOGUE,
    DEFAULT_TODAY,
    generate,
    generate_bulk,
    generate_for,
    shared_holders,
)
from nodes.synth.catalogue import BUSINESS_LICENCE, RESIDENT_ID

TOPOLOGY = Path(__file__).parents[2] / "topology.yaml"
SEED = 20240601


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load_topology(TOPOLOGY)


@pytest.fixture(scope="module")
def network(topology: Topology) -> dict[str, list[Certificate]]:
    return generate(topology, seed=SEED)


def everything(network: dict[str, list[Certificate]]) -> list[Certificate]:
    return [cert for certs in network.values() for cert in certs]


def test_same_seed_gives_identical_output(topology: Topology) -> None:
    first = generate(topology, seed=7)
    second = generate(topology, seed=7)
    assert {k: [c.to_record() for c in v] for k, v in first.items()} == {
        k: [c.to_record() for c in v] for k, v in second.items()
    }


def test_different_seed_gives_different_output(topology: Topology) -> None:
    ids = {c.CertificateID for c in everything(generate(topology, seed=7))}
    other = {c.CertificateID for c in everything(generate(topology, seed=8))}
    holders = {c.CertificateHolderCode for c in everything(generate(topology, seed=7))}
    other_holders = {c.CertificateHolderCode for c in everything(generate(topology, seed=8))}
    assert ids != other
    assert len(holders & other_holders) < len(holders) // 10


def test_every_node_but_national_gets_certificates(
    topology: Topology, network: dict[str, list[Certificate]]
) -> None:
    assert set(network) == {node.id for node in topology.nodes}
    assert network["national"] == []
    for node in topology.nodes:
        if node.id != "national":
            assert len(network[node.id]) >= 40, node.id


def test_every_certificate_round_trips_through_validation(
    network: dict[str, list[Certificate]],
) -> None:
    for cert in everything(network):
        assert Certificate.model_validate(cert.model_dump()) == cert


def test_every_identifier_passes_its_check(network: dict[str, list[Certificate]]) -> None:
    for cert in everything(network):
        assert is_certificate_id(cert.CertificateID)
        assert is_type_code(cert.CertificateTypeCode)
        assert is_uscc(cert.CertificateIssuingAuthorityCode)
        assert is_area_code(cert.CertificateAreaCode)
        if cert.CertificateHolderTypeCode == "111":
            assert is_citizen_id(cert.CertificateHolderCode)
        else:
            assert cert.CertificateHolderTypeCode == "001"
            assert is_uscc(cert.CertificateHolderCode)


def test_the_catalogue_is_valid_and_matches_appendix_c4() -> None:
    names = {t.CertificateTypeName for t in CATALOGUE}
    assert {"营业执照", "居民身份证", "机动车驾驶证", "食品经营许可证", "结婚证"} <= names
    assert RESIDENT_ID == "11100000000013127D001"
    for kind in CATALOGUE:
        assert is_type_code(kind.CertificateTypeCode)
        assert kind.CertificateTypeCode[:18] == kind.CertificateDefineAuthorityCode
        assert kind.CertificateHolderCategory in ("自然人", "法人和其他组织")
    licence = next(t for t in CATALOGUE if t.CertificateTypeCode == BUSINESS_LICENCE)
    assert [c.columnName for c in licence.surface_template] == [
        "ENTNAME",
        "dom",
        "name",
        "REPORTTYPE",
        "regcap",
        "opscope",
        "regstate",
        "compform",
        "oploc",
        "otherinfo",
        "puburl",
        "estdate",
    ]


def test_surfaces_follow_the_type_template(network: dict[str, list[Certificate]]) -> None:
    templates = {t.CertificateTypeCode: t.surface_template for t in CATALOGUE}
    for cert in everything(network):
        columns = [(s.name, s.columnName) for s in cert.surface]
        expected = [(c.name, c.columnName) for c in templates[cert.CertificateTypeCode]]
        assert columns == expected
        assert sum(1 for s in cert.surface if s.value) >= len(columns) - 1


def test_area_codes_and_issuers_are_inside_the_node_jurisdiction(
    topology: Topology, network: dict[str, list[Certificate]]
) -> None:
    for node_id, certs in network.items():
        prefix = topology.jurisdiction(node_id)
        node = topology.node(node_id)
        for cert in certs:
            assert in_jurisdiction(cert.CertificateAreaCode, prefix), (node_id, cert.CertificateID)
            if node.area_code is not None:
                # the issuing authority's USCC embeds the node's area code (GB 32100 layout)
                assert cert.CertificateIssuingAuthorityCode[2:8] == node.area_code


def test_local_citizen_ids_start_with_a_prefecture_of_the_node(
    topology: Topology, network: dict[str, list[Certificate]]
) -> None:
    for node_id in ("hlj-harbin", "hlj", "jl-changchun"):
        node = topology.node(node_id)
        assert node.area_code is not None
        own = [
            c for c in network[node_id] if "S" not in parse_certificate_id(c.CertificateID).serial
        ]
        people = [c for c in own if c.CertificateHolderTypeCode == "111"]
        assert people, node_id
        for cert in people:
            area = cert.CertificateHolderCode[:6]
            assert not area.endswith("0000")
            assert area == node.area_code or (
                node.area_code.endswith("0000") and area[:2] == node.area_code[:2]
            )


def test_each_node_has_expired_cancelled_and_restricted_certificates(
    network: dict[str, list[Certificate]],
) -> None:
    for node_id, certs in network.items():
        if node_id == "national":
            continue
        statuses = Counter(c.CertificateStatus.value for c in certs)
        expired = [c for c in certs if c.expired_on(DEFAULT_TODAY)]
        assert expired, node_id
        assert statuses["02"] >= 1, (node_id, statuses)
        assert statuses["05"] >= 1, (node_id, statuses)
        assert statuses["01"] > len(certs) // 2
        for cert in certs:
            changed = cert.CertificateStatus.value != "01"
            assert bool(cert.CertificateStatusChangeReason) == changed
            assert bool(cert.CertificateStatusChangeTime) == changed
            assert date.fromisoformat(cert.CertificateIssuedDate) <= DEFAULT_TODAY


def test_today_moves_the_dates(topology: Topology) -> None:
    later = generate(topology, seed=SEED, today=date(2030, 6, 1))["hlj-harbin"]
    assert any(c.CertificateIssuedDate > "2026-01-01" for c in later)
    assert any(c.expired_on(date(2030, 6, 1)) for c in later)


def test_ids_are_unique_across_the_network(network: dict[str, list[Certificate]]) -> None:
    ids = [c.CertificateID for c in everything(network)]
    assert len(ids) == len(set(ids))


def test_shared_holders_hold_certificates_at_two_provinces(
    topology: Topology, network: dict[str, list[Certificate]]
) -> None:
    holders = shared_holders(topology, SEED)
    assert sum(1 for h in holders if h.CertificateHolderTypeCode == "111") >= 2
    assert sum(1 for h in holders if h.CertificateHolderTypeCode == "001") >= 2
    for holder in holders:
        assert len(holder.nodes) >= 2
        provinces = {p.id for n in holder.nodes if (p := topology.province_of(n)) is not None}
        assert len(provinces) >= 2, holder
        for held in holder.certificates:
            found = [c for c in network[held.node_id] if c.CertificateID == held.CertificateID]
            assert len(found) == 1
            assert found[0].CertificateHolderCode == holder.CertificateHolderCode
            assert found[0].CertificateStatus.value == "01"
            assert not found[0].expired_on(DEFAULT_TODAY)
    assert any("mot" in holder.nodes for holder in holders)


def test_shared_holders_do_not_depend_on_today(topology: Topology) -> None:
    first = shared_holders(topology, SEED)
    later = shared_holders(topology, SEED, today=date(2031, 1, 1))
    assert [
        (h.CertificateHolderCode, [c.CertificateID for c in h.certificates]) for h in first
    ] == [(h.CertificateHolderCode, [c.CertificateID for c in h.certificates]) for h in later]


def test_generate_is_cheap(topology: Topology) -> None:
    started = time.perf_counter()
    generate(topology, seed=SEED)
    assert time.perf_counter() - started < 1.0


def test_bulk_records_validate_and_are_distinct() -> None:
    records = list(generate_bulk("bench", "230100", count=600, seed=1))
    certs = [Certificate.model_validate(record) for record in records]
    assert len({c.CertificateID for c in certs}) == 600
    assert len({c.CertificateHolderCode for c in certs}) == 600
    assert all(c.CertificateAreaCode == "230100" for c in certs)
    assert {"01", "02", "05"} <= {c.CertificateStatus.value for c in certs}
    again = list(itertools.islice(generate_bulk("bench", "230100", count=600, seed=1), 5))
    assert again == records[:5]


def test_a_node_alone_gets_exactly_its_share_of_the_whole_network(topology: Topology) -> None:
    everything = generate(topology, seed=11, per_node=12)
    for node in topology.nodes:
        mine = generate_for(topology, node.id, seed=11, per_node=12)
        assert [c.CertificateID for c in mine] == [c.CertificateID for c in everything[node.id]]
        assert mine == everything[node.id]
