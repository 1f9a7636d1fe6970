"""Injected faults at one node: the admin API of its fault table, and its server honouring them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.core.topology import Topology
from tests.service.certs import issue, make_certificate
from tests.service.conftest import APP_IP, OTHER_IP, PEER_IP, Node, Reply, start_node
from tests.service.test_admin import admin

WAIT_WITHIN = 20.0  # seconds to wait for a timed fault to heal (a loaded machine)


class Recorder:
    """The node's event stream, kept in memory."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: str, /, at: float | None = None, **fields: Any) -> None:
        self.events.append({"event": event, **fields})

    def named(self, event: str) -> list[dict[str, Any]]:
        return [record for record in self.events if record["event"] == event]


@pytest.fixture
async def recorded(
    aiohttp_server: Any, topology: Topology, tmp_path: Path
) -> AsyncIterator[tuple[Node, Recorder]]:
    events = Recorder()
    async for running in start_node(aiohttp_server, topology, tmp_path, events=events):
        yield running, events


async def lookup(node: Node, credentials: dict[str, str], source: str) -> Reply:
    cert = make_certificate(1)
    if await node.ctx.store.certificates.get(cert.CertificateID) is None:
        await issue(node.ctx, cert)
    params = {**credentials, "CertificateID": cert.CertificateID, "UseFor": "办理测试"}
    return await node.post("GetCertificateDataByCertificateID", data=params, source=source)


async def add(node: Node, **rule: Any) -> dict[str, Any]:
    status, body = await admin(node, "POST", "/admin/faults", json=rule)
    assert status == 201, body
    return body


async def wait_until_healed(node: Node, fault_id: str) -> None:
    deadline = time.monotonic() + WAIT_WITHIN
    while True:
        _, body = await admin(node, "GET", "/admin/faults")
        if fault_id not in [fault["id"] for fault in body["faults"]]:
            return
        assert time.monotonic() < deadline, f"{fault_id} did not heal: {body}"
        await asyncio.sleep(0.05)


# -- the admin API --------------------------------------------------------------------------------
async def test_a_fault_is_listed_with_its_time_left_and_cleared(node: Node) -> None:
    added = await add(node, id="f1", kind="error", from_ip=APP_IP, for_seconds=600)
    assert added["id"] == "f1"
    assert 0 < added["remaining_s"] <= 600
    status, listed = await admin(node, "GET", "/admin/faults")
    assert status == 200
    assert [(fault["id"], fault["kind"], fault["from_ip"]) for fault in listed["faults"]] == [
        ("f1", "error", APP_IP)
    ]
    assert (await admin(node, "GET", "/admin/faults/f1"))[1]["description"].startswith("answer 99")
    status, cleared = await admin(node, "DELETE", "/admin/faults/f1")
    assert (status, cleared["id"]) == (200, "f1")
    assert (await admin(node, "GET", "/admin/faults"))[1]["faults"] == []
    assert (await admin(node, "DELETE", "/admin/faults/f1"))[0] == 404


async def test_a_fault_without_an_id_gets_one(node: Node) -> None:
    first, second = await add(node, kind="cut", from_ip=APP_IP), await add(node, kind="cut")
    assert first["id"] != second["id"]
    assert first["id"].startswith("hlj-harbin-")
    status, body = await admin(node, "DELETE", "/admin/faults")
    assert (status, sorted(body["cleared"])) == (200, sorted([first["id"], second["id"]]))


@pytest.mark.parametrize(
    ("rule", "status", "complaint"),
    [
        ({"kind": "teleport"}, 400, "kind"),
        ({"kind": "latency"}, 400, "latency needs latency_ms"),
        ({"kind": "cut", "side": "outbound", "peer": "national"}, 400, "not a neighbour"),
        ({"kind": "error", "from_ip": "somewhere"}, 400, "not an IP address"),
    ],
)
async def test_a_rule_the_node_cannot_hold_is_refused(
    node: Node, rule: dict[str, Any], status: int, complaint: str
) -> None:
    answered, body = await admin(node, "POST", "/admin/faults", json=rule)
    assert answered == status
    assert complaint in body["error"]


async def test_an_id_in_use_is_a_conflict(node: Node) -> None:
    await add(node, id="f1", kind="cut")
    status, body = await admin(node, "POST", "/admin/faults", json={"id": "f1", "kind": "error"})
    assert status == 409
    assert "f1" in body["error"]


async def test_the_catalog_row_injection_still_answers_beside_the_fault_table(node: Node) -> None:
    status, body = await admin(node, "POST", "/admin/faults/catalog-row", json={"rows": []})
    assert (status, body["queued"]) == (200, 0)
    assert (await admin(node, "GET", "/admin/faults/catalog-row"))[0] == 404


async def test_the_fault_api_needs_the_admin_key(node: Node) -> None:
    status, _ = await admin(node, "POST", "/admin/faults", json={"kind": "cut"}, key="0" * 64)
    assert status == 401


# -- the server honouring inbound faults ----------------------------------------------------------
async def test_an_error_fault_for_one_application_spares_another_at_the_same_time(
    recorded: tuple[Node, Recorder],
) -> None:
    node, events = recorded
    hit, spared = await node.login(APP_IP), await node.login(OTHER_IP)
    await add(node, id="f1", kind="error", from_ip=APP_IP)
    answers = await asyncio.gather(
        lookup(node, hit, APP_IP), lookup(node, spared, OTHER_IP), lookup(node, hit, APP_IP)
    )
    assert [answer.code for answer in answers] == ["99", "0", "99"]
    assert answers[0].body["head"]["message"] == "其他异常"
    handled = {
        (record["peer_ip"], record["status"], record.get("fault"))
        for record in events.named("request.handled")
        if record["method"] == "GetCertificateDataByCertificateID"
    }
    assert handled == {(APP_IP, 99, "f1"), (OTHER_IP, 0, None)}


async def test_requests_from_a_neighbour_can_be_answered_99(node: Node) -> None:
    await add(node, id="f1", kind="error", peer="hlj")  # hlj calls from PEER_IP
    account = await node.account(PEER_IP)
    reply = await node.post("token", data={"AccountId": account.account_id}, source=PEER_IP)
    assert reply.code == "99"
    app = await node.login(APP_IP)
    assert (await lookup(node, app, APP_IP)).code == "0"


async def test_a_slow_node_answers_after_its_delay(recorded: tuple[Node, Recorder]) -> None:
    node, events = recorded
    credentials = await node.login(APP_IP)
    await add(node, id="f1", kind="slow", delay_ms=300, from_ip=APP_IP)
    started = time.perf_counter()
    reply = await lookup(node, credentials, APP_IP)
    assert reply.code == "0"
    assert time.perf_counter() - started >= 0.3  # a lower bound: the node waited first
    [handled] = [e for e in events.named("request.handled") if e.get("fault") == "f1"]
    assert handled["ms"] >= 300


async def test_a_cut_closes_the_connection_unanswered_and_leaves_no_audit_row(
    recorded: tuple[Node, Recorder],
) -> None:
    node, events = recorded
    hit, spared = await node.login(APP_IP), await node.login(OTHER_IP)
    await add(node, id="f1", kind="cut", from_ip=APP_IP)  # an admin action: audited too
    await node.flush_audit()
    audited = await node.ctx.store.audit.count()
    with pytest.raises(aiohttp.ClientConnectionError):
        await lookup(node, hit, APP_IP)
    assert (await lookup(node, spared, OTHER_IP)).code == "0"
    await node.flush_audit()
    assert await node.ctx.store.audit.count() == audited + 1  # the spared call only
    [dropped] = events.named("request.dropped")
    assert (dropped["reason"], dropped["fault"], dropped["peer_ip"]) == ("cut", "f1", APP_IP)


async def test_a_dropped_request_is_held_for_its_deadline_then_closed(
    recorded: tuple[Node, Recorder],
) -> None:
    node, events = recorded
    credentials = await node.login(APP_IP)
    await add(node, id="f1", kind="drop", from_ip=APP_IP)
    started = time.perf_counter()
    cert = make_certificate(1)
    await issue(node.ctx, cert)
    params = {**credentials, "CertificateID": cert.CertificateID, "UseFor": "办理测试"}
    with pytest.raises(aiohttp.ClientConnectionError):
        await node.post(
            "GetCertificateDataByCertificateID",
            data=params,
            headers={"X-Ecert-Deadline-Ms": "200"},
        )
    assert time.perf_counter() - started >= 0.2
    assert [e["reason"] for e in events.named("request.dropped")] == ["drop"]


async def test_a_timed_fault_heals_itself(recorded: tuple[Node, Recorder]) -> None:
    node, events = recorded
    credentials = await node.login(APP_IP)
    await add(node, id="f1", kind="error", for_seconds=0.3)
    assert (await lookup(node, credentials, APP_IP)).code == "99"
    await wait_until_healed(node, "f1")
    assert (await lookup(node, credentials, APP_IP)).code == "0"
    [healed] = events.named("fault.healed")
    assert (healed["fault"], healed["reason"]) == ("f1", "expired")


async def test_a_clock_skew_past_midnight_voids_todays_tokens_until_cleared(node: Node) -> None:
    credentials = await node.login(APP_IP)
    assert (await lookup(node, credentials, APP_IP)).code == "0"
    await add(node, id="f1", kind="skew", skew_seconds=86400)
    assert (await lookup(node, credentials, APP_IP)).code == "11"
    await admin(node, "DELETE", "/admin/faults/f1")
    assert (await lookup(node, credentials, APP_IP)).code == "0"


async def test_the_admin_api_and_health_are_spared_by_a_cut_of_everyone(node: Node) -> None:
    await add(node, id="f1", kind="cut")
    async with node.session().get(f"{node.ctx.node.url}/healthz") as response:
        assert response.status == 200
    assert (await admin(node, "DELETE", "/admin/faults/f1"))[0] == 200
