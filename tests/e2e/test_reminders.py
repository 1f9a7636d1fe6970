"""Expiry reminders across a real network (§8.3.4): a certificate issued at a city expiring in
ten days is published on the city's reminders topic (read, with the province's broker login,
through the real embedded broker and its ACLs) and listed by ``ecert reminders``."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.control.exchange_access import exchange_password
from gateway.control.testing import EcertNetwork
from gateway.core.exchange import Exchange, reminders_topic
from tests.e2e.cli import ecert
from tests.e2e.test_demo_aggregation import resident_id_card

OWNER, PARENT = "jl-changchun", "jl"
WITHIN = 60.0  # seconds for the reminder to arrive


async def published_with(net: EcertNetwork, certificate_id: str) -> dict[str, Any]:
    """Subscribe as the parent, ask the owner to publish, and wait for a message naming it."""
    spec, network = net.topology.exchange, net.topology.network
    arrived: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def collect(topic: str, payload: dict[str, Any]) -> None:
        if topic == reminders_topic(network, OWNER):  # amqtt also hands over other retained ones
            await arrived.put(payload)

    exchange = Exchange(
        network=network,
        host=spec.broker_host,
        port=spec.broker_port,
        client_id=f"{network}-pytest-reminders",
        username=PARENT,
        password=exchange_password(net.launcher.state.link_secret(), PARENT),
        subscriptions=[reminders_topic(network, OWNER)],
        on_message=collect,
    )
    async with exchange, asyncio.timeout(WITHIN):
        await exchange.connected.wait()
        await asyncio.to_thread(net.admin, OWNER, "POST", "/admin/reminders/publish")
        while True:
            payload = await arrived.get()
            if certificate_id in {r["certificateID"] for r in payload["reminders"]}:
                return payload


def test_a_certificate_expiring_soon_is_published_and_listed(
    ecert_network: EcertNetwork, tmp_path: Path
) -> None:
    net = ecert_network
    today = datetime.now(net.topology.zone).date()
    record = resident_id_card(1601, area="220102")
    record["CertificateExpiringDate"] = (today + timedelta(days=10)).isoformat()
    net.seal(OWNER, record)  # its authority must have a seal there
    net.admin(OWNER, "POST", "/admin/certificates", record)

    payload = asyncio.run(published_with(net, record["CertificateID"]))
    assert payload["node"] == OWNER
    (mine,) = [r for r in payload["reminders"] if r["certificateID"] == record["CertificateID"]]
    assert (mine["daysLeft"], mine["certificateHolderCode"]) == (
        10,
        record["CertificateHolderCode"],
    )

    run = ecert("reminders", "--node", OWNER, "--json", cwd=tmp_path, state_env=net.state_dir)
    assert run.returncode == 0, run.stderr
    listed = json.loads(run.stdout)
    assert record["CertificateID"] in {r["certificateID"] for r in listed["reminders"]}
    assert listed["published_at"]
    table = ecert("reminders", "--node", OWNER, cwd=tmp_path, state_env=net.state_dir)
    assert table.returncode == 0, table.stderr
    assert f"expiring at {OWNER} within 30 days" in table.stdout
    short = ecert("reminders", "--node", OWNER, "--within", "5", "--json",
                  cwd=tmp_path, state_env=net.state_dir)  # fmt: skip
    assert record["CertificateID"] not in {
        r["certificateID"] for r in json.loads(short.stdout)["reminders"]
    }
