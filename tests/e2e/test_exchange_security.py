"""The exchange nobody can forge or read (issue #13): the launcher's broker takes the network's
nodes only, each on the topics of its own links."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from gateway.core.exchange import ack_topic, catalog_topic
from tests.e2e.harness import Network, network_in_background, write_topology
from tests.service.certs import TEST_SEAL, make_certificate


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("exchange-security")
    with network_in_background(write_topology(root, shape="demo"), root / "state") as network:
        yield network


def login(net: Network, node_id: str) -> tuple[str, str]:
    password = (net.state.node_dir(node_id) / "exchange.password").read_text().strip()
    return node_id, password


def client(net: Network, credentials: tuple[str, str] | None = None) -> aiomqtt.Client:
    exchange = net.topology.exchange
    username, password = credentials or (None, None)
    return aiomqtt.Client(
        exchange.broker_host,
        exchange.broker_port,
        username=username,
        password=password,
        identifier=f"probe-{username}",
        timeout=5,
    )


async def received(subscriber: aiomqtt.Client, within: float) -> list[bytes]:
    found: list[bytes] = []
    try:
        async with asyncio.timeout(within):
            async for message in subscriber.messages:
                found.append(bytes(message.payload))  # type: ignore[arg-type]
    except TimeoutError:
        pass
    return found


async def test_an_anonymous_client_is_refused(net: Network) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with client(net):
            pass
    with pytest.raises(aiomqtt.MqttError):
        async with client(net, ("hlj", "not-the-password")):
            pass


async def test_a_node_reads_only_what_is_addressed_to_it(net: Network) -> None:
    network = net.topology.network
    async with client(net, login(net, "hlj-harbin")) as harbin:
        granted = await harbin.subscribe([(f"ecert/{network}/#", 1)])
        assert all(code.is_failure for code in granted), granted  # type: ignore[union-attr]
        granted = await harbin.subscribe([(catalog_topic(network, "hlj"), 1)])
        assert all(code.is_failure for code in granted), granted  # type: ignore[union-attr]


async def test_only_the_parent_can_acknowledge_to_a_child(net: Network) -> None:
    topic = ack_topic(net.topology.network, "hlj-qiqihar")
    async with (
        client(net, login(net, "hlj-qiqihar")) as qiqihar,
        client(net, login(net, "hlj-harbin")) as harbin,
        client(net, login(net, "hlj")) as hlj,
    ):
        await qiqihar.subscribe(topic, qos=1)
        await harbin.publish(topic, b'{"cd_batch":"forged","anomalies":0}', qos=1)
        await hlj.publish(topic, b'{"probe":"from the parent"}', qos=1)
        messages = await received(qiqihar, within=3.0)
    assert b'{"probe":"from the parent"}' in messages
    assert not any(b"forged" in message for message in messages)


def test_the_broker_access_file_is_private_and_names_no_password(net: Network) -> None:
    path: Path = net.state.broker_access_path
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    _, password = login(net, "hlj")
    assert password not in text


def client_id_of(net: Network, node_id: str) -> str:
    """The client id the node last connected to the broker with (its log says so)."""
    for line in reversed(net.log(node_id).splitlines()):
        record = json.loads(line)
        if record.get("event") == "exchange.connected":
            return str(record["client_id"])
    raise AssertionError(f"{node_id} never connected to the exchange")


async def test_a_node_kicked_off_the_broker_resumes_and_loses_nothing(net: Network) -> None:
    """Even with its own id and password, a second client only pushes the node off for a moment:
    the node reconnects, and a certificate issued meanwhile below it still reaches national."""
    username, password = login(net, "hlj")
    taken = client_id_of(net, "hlj")
    exchange = net.topology.exchange
    async with aiomqtt.Client(
        exchange.broker_host,
        exchange.broker_port,
        username=username,
        password=password,
        identifier=taken,
        clean_session=False,
        timeout=5,
    ):
        cert = make_certificate(777)
        await net.admin("hlj-harbin", "POST", "/admin/seals", json=TEST_SEAL)
        await net.admin("hlj-harbin", "POST", "/admin/certificates", json=cert.to_record())
        await asyncio.sleep(2)  # the squatter holds the session for a while (time is the subject)
    path = f"/admin/catalog?id={cert.CertificateID}"
    async with asyncio.timeout(60):  # resent after ack_timeout at worst, once the node is back
        while True:
            if (await net.admin("national", "GET", path))["total"]:
                break
            await asyncio.sleep(0.2)
