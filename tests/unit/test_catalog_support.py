"""Builders the aggregation tests share (catalog rows, a small topology, node contexts), and the
checks that what they build is valid, so a failing aggregation test never blames its data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

from gateway.core.topology import Topology, parse_topology
from nodes.catalog.validate import sender_of, validate_rows
from nodes.clock import Clock
from nodes.context import NodeContext
from nodes.model.certificate import Certificate
from nodes.model.identifiers import (
    is_certificate_id,
    make_certificate_id,
    make_citizen_id,
    make_uscc,
)
from nodes.settings import NodeSettings
from nodes.store.store import Store
from nodes.store.types import BUILTIN
from nodes.synth import CATALOGUE

TYPE_CODE = "11100000000013127D001"  # 居民身份证
HARBIN_PSB = make_uscc("11230100MB0000001")
DAQING_PSB = make_uscc("11230600MB0000002")
CD_TIME = "2025-06-01T10:00:00.000000+08:00"


def topology(
    network: str = "unit",
    *,
    broker_port: int = 1883,
    interval: float = 0.3,
    ack_timeout: float = 1.0,
) -> Topology:
    """national ← (mot, hlj ← (hlj-harbin ← hlj-harbin-amr, hlj-daqing)), one port each."""
    return parse_topology(f"""
network: {network}
exchange:
  broker: mqtt://127.0.0.1:{broker_port}
  interval: {interval}
  ack_timeout: {ack_timeout}
nodes:
  - {{id: national, tier: national, name: 国家, port: 0}}
  - {{id: mot, tier: ministry, parent: national, name: 交通运输部, port: 0}}
  - {{id: hlj, tier: province, parent: national, name: 黑龙江, area_code: "230000", port: 0}}
  - {{id: hlj-harbin, tier: city, parent: hlj, name: 哈尔滨, area_code: "230100",
      data_source: "101", port: 0}}
  - {{id: hlj-harbin-amr, tier: department, parent: hlj-harbin, name: 哈尔滨市场监管,
      area_code: "230100", data_source: "011", port: 0}}
  - {{id: hlj-daqing, tier: city, parent: hlj, name: 大庆, area_code: "230600",
      data_source: "106", port: 0}}
""")


def make_row(
    serial: int,
    *,
    issuer: str = HARBIN_PSB,
    area: str = "230102",
    data_source: str = "101",
    operation: str = "I",
    cd_time: str = CD_TIME,
    holder: str = "张三",
) -> dict[str, str]:
    """A valid E.1 row of a 居民身份证 issued in Harbin (serials stay distinct per issuer)."""
    return {
        "certificate_source_id": make_certificate_id(TYPE_CODE, issuer, f"{serial:09d}"),
        "certificate_name": "居民身份证",
        "certificate_type": "居民身份证",
        "certificate_type_code": TYPE_CODE,
        "issue_dept": "哈尔滨市公安局",
        "issue_dept_code": issuer,
        "certificate_area_code": area,
        "certificate_holder": holder,
        "certificate_holder_code": make_citizen_id(
            area, date(1970 + serial % 40, 1 + serial % 12, 1 + serial % 28), serial % 1000
        ),
        "certificate_holder_type": "111",
        "certificate_number": f"N{serial:09d}",
        "issue_date": "2020-01-01",
        "data_source": data_source,
        "cd_operation": operation,
        "cd_time": cd_time,
        "cd_batch": "",
    }


def make_certificate(serial: int, **changes: str) -> Certificate:
    """The certificate ``make_row(serial)`` describes (Harbin's 公安局, 居民身份证)."""
    row = make_row(serial)
    record = {
        "CertificateID": row["certificate_source_id"],
        "CertificateName": row["certificate_name"],
        "CertificateTypeName": row["certificate_type"],
        "CertificateTypeCode": row["certificate_type_code"],
        "CertificateIssuingAuthorityName": row["issue_dept"],
        "CertificateIssuingAuthorityCode": row["issue_dept_code"],
        "CertificateAreaCode": row["certificate_area_code"],
        "CertificateHolderName": row["certificate_holder"],
        "CertificateHolderCode": row["certificate_holder_code"],
        "CertificateHolderTypeCode": row["certificate_holder_type"],
        "CertificateNumber": row["certificate_number"],
        "CertificateIssuedDate": row["issue_date"],
    }
    return Certificate.model_validate({**record, **changes})


@asynccontextmanager
async def node_context(
    tmp_path: Path, topo: Topology, node_id: str, *, clock: Clock | None = None
) -> AsyncIterator[NodeContext]:
    """A node's context over a real SQLite file in ``tmp_path/<node_id>/``, with the built-in
    certificate types a started node has (catalog ingest refuses rows of unknown types)."""
    settings = NodeSettings(topology=topo, node_id=node_id, state_dir=tmp_path, seed=None)
    async with Store.open(settings.database_path) as store:
        ctx = NodeContext(settings=settings, store=store, clock=clock or Clock(topo.zone))
        await store.types.add_missing(
            list(CATALOGUE), defined_at_node=BUILTIN, approved=True, now=ctx.clock.stamp()
        )
        yield ctx


def test_made_rows_pass_every_rule() -> None:
    rows = [make_row(serial) for serial in range(200)]
    assert all(is_certificate_id(row["certificate_source_id"]) for row in rows)
    verdict = validate_rows(
        rows, sender_of(topology(), "hlj-harbin"), today="2026-01-01", cd_batch="hlj-harbin-1"
    )
    assert verdict.anomalies == []
    assert len(verdict.valid) == 200


def test_made_certificates_match_made_rows() -> None:
    cert = make_certificate(5)
    assert cert.CertificateID == make_row(5)["certificate_source_id"]
    assert cert.CertificateHolderCode == make_row(5)["certificate_holder_code"]


def test_the_topology_nests_a_department_under_a_city() -> None:
    topo = topology()
    assert [n.id for n in topo.subtree("hlj-harbin")] == ["hlj-harbin", "hlj-harbin-amr"]
    assert topo.jurisdiction("hlj-harbin") == "2301"
