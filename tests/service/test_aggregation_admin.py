"""The aggregation admin API on one real node app (``hlj-harbin``, loopback, admin key)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway.core.forwarder import Forwarder
from gateway.core.topology import Topology
from nodes.catalog import validate as v
from nodes.catalog.anomalies import receive_anomalies
from nodes.clock import Clock
from nodes.context import NodeContext
from nodes.http import admin_catalog
from nodes.http.app import create_app
from nodes.issuing import record_changes
from nodes.model.codes import CdOperation
from nodes.preparation import prepare
from nodes.relay import FileRelay
from nodes.settings import NodeSettings
from nodes.store.store import Store
from nodes.synth.catalogue import CATALOGUE
from tests.service.conftest import NODE_ID, Node, recording
from tests.service.test_admin import admin
from tests.unit.test_catalog_support import make_certificate, make_row

NEW_TYPE = {
    **CATALOGUE[0].model_dump(mode="json"),
    "CertificateTypeName": "哈尔滨市养犬登记证",
    "CertificateTypeCode": CATALOGUE[0].CertificateDefineAuthorityCode + "901",
}


def _routed(app: web.Application, path: str) -> bool:
    return any(resource.canonical == path for resource in app.router.resources())


@pytest.fixture
async def node(aiohttp_server: Any, topology: Topology, tmp_path: Path) -> AsyncIterator[Node]:
    """An empty (unseeded) city node whose app has the aggregation admin routes."""
    settings = NodeSettings(topology=topology, node_id=NODE_ID, state_dir=tmp_path, seed=None)
    async with Store.open(settings.database_path) as store, Forwarder(topology, NODE_ID) as peers:
        ctx = NodeContext(settings=settings, store=store, clock=Clock(topology.zone))
        await prepare(ctx)
        app = create_app(ctx, resolver=recording(ctx, []), file_relay=FileRelay(ctx, peers))
        if not _routed(app, "/admin/anomalies"):  # until nodes/http/app.py adds them itself
            admin_catalog.add_routes(app)
        server = await aiohttp_server(app, host=ctx.node.host, port=ctx.node.port)
        running = Node(ctx=ctx, server=server)
        try:
            yield running
        finally:
            for session in running.sessions.values():
                await session.close()
            await server.close()


async def test_every_route_needs_the_admin_key(node: Node) -> None:
    for method, path in [
        ("GET", "/admin/anomalies"),
        ("POST", "/admin/faults/catalog-row"),
        ("GET", "/admin/types"),
        ("POST", "/admin/types"),
        ("POST", "/admin/types/X/approve"),
        ("GET", "/admin/catalog"),
    ]:
        status, body = await admin(node, method, path, key="0" * 64, json={})
        assert (status, "error" in body) == (401, True), path


async def test_the_catalog_view_filters_by_holder_and_id(node: Node) -> None:
    certs = [make_certificate(serial) for serial in range(1, 6)]
    await record_changes(node.ctx, [(cert, CdOperation.INSERT) for cert in certs])
    status, body = await admin(node, "GET", "/admin/catalog")
    assert (status, body["total"], len(body["rows"])) == (200, 5, 5)
    assert {row["via_node"] for row in body["rows"]} == {NODE_ID}
    holder = certs[2].CertificateHolderCode
    _, by_holder = await admin(node, "GET", f"/admin/catalog?holder={holder}")
    assert [row["certificate_source_id"] for row in by_holder["rows"]] == [certs[2].CertificateID]
    _, by_id = await admin(node, "GET", f"/admin/catalog?id={certs[4].CertificateID}&limit=1")
    assert by_id["total"] == 1
    status, bad = await admin(node, "GET", "/admin/catalog?limit=0")
    assert status == 400
    assert "limit" in bad["error"]


async def test_a_fault_row_is_queued_as_given(node: Node) -> None:
    raw = {**make_row(1), "data_source": "999", "cd_operation": "Q"}
    status, body = await admin(node, "POST", "/admin/faults/catalog-row", json=raw)
    assert (status, body) == (200, {"queued": 1, "outbox_pending": 1})
    [queued] = await node.ctx.store.outbox.batch_rows("")
    assert (queued["data_source"], queued["cd_operation"]) == ("999", "Q")
    rows = {"rows": [make_row(2), {"certificate_source_id": "broken"}]}
    assert (await admin(node, "POST", "/admin/faults/catalog-row", json=rows))[1]["queued"] == 2


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({"nonsense": "1"}, "not E.1 columns: nonsense"), ({"rows": ["x"]}, "JSON object")],
)
async def test_a_fault_row_must_name_e1_columns(node: Node, body: Any, fragment: str) -> None:
    status, answer = await admin(node, "POST", "/admin/faults/catalog-row", json=body)
    assert status == 400
    assert fragment in answer["error"]
    assert await node.ctx.store.outbox.pending() == 0


async def test_anomalies_are_listed_open_and_resolved(node: Node) -> None:
    bad = {**make_row(1), "data_source": "999", "error_remark": v.FOREIGN_DATA_SOURCE}
    await receive_anomalies(node.ctx, "hlj-harbin-7", [bad])
    status, body = await admin(node, "GET", "/admin/anomalies?state=open")
    assert (status, body["open"]) == (200, 1)
    [anomaly] = body["anomalies"]
    assert anomaly["error_remark"] == v.FOREIGN_DATA_SOURCE
    assert anomaly["cd_batch"] == "hlj-harbin-7"
    assert anomaly["resolved_at"] is None
    _, resolved = await admin(node, "GET", "/admin/anomalies?state=resolved")
    assert resolved["anomalies"] == []
    status, wrong = await admin(node, "GET", "/admin/anomalies?state=closed")
    assert status == 400
    assert "state" in wrong["error"]


async def test_a_type_defined_here_waits_for_the_province(node: Node) -> None:
    status, defined = await admin(node, "POST", "/admin/types", json=NEW_TYPE)
    assert status == 201
    assert (defined["approved"], defined["defined_at_node"]) == (False, NODE_ID)
    _, listed = await admin(node, "GET", "/admin/types")
    mine = [t for t in listed if t["CertificateTypeCode"] == NEW_TYPE["CertificateTypeCode"]]
    assert [t["approved"] for t in mine] == [False]
    assert all(t["approved"] for t in listed if t not in mine)  # the built-in ones
    code = NEW_TYPE["CertificateTypeCode"]
    status, refused = await admin(node, "POST", f"/admin/types/{code}/approve")
    assert status == 409
    assert "approved by hlj" in refused["error"]
    assert (await admin(node, "POST", "/admin/types", json=NEW_TYPE))[0] == 409
    assert (await admin(node, "POST", "/admin/types/NOPE/approve"))[0] == 404


async def test_an_invalid_type_is_refused_with_the_field(node: Node) -> None:
    status, body = await admin(
        node, "POST", "/admin/types", json={**NEW_TYPE, "CertificateTypeCode": "123"}
    )
    assert status == 400
    assert body["error"].startswith("CertificateTypeCode")
