"""Forged exchange messages change nothing, a kicked node resumes, and nothing acknowledged is
lost (issue #13), on real processes against each broker a network can use:

- ``embedded``: the launcher's amqtt broker, with logins and topic ACLs;
- ``mosquitto``: Mosquitto started by ``ecert up`` (``broker: mosquitto``), same logins and ACLs;
- ``open-mosquitto``: a Mosquitto of its own that lets anyone in and anyone publish anywhere:
  the broker's protection is off, only the link signatures are left.

On ``national ← p1 ← p1-c1, p1-c2; national ← mot``: forged acknowledgements while p1 is down
(from a sibling's login, unsigned or wrongly signed from the parent's own login, and correctly
signed but for other content) leave p1-c1's batch pending; forged batches at national (unsigned,
wrongly signed, and one that mot signs with its own key while claiming to be p1) are never
applied; a client that takes p1's client id over only pushes p1 off for a moment. After each,
every certificate reaches national.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import pytest

from gateway.core.exchange import ack_topic, catalog_topic
from gateway.core.links import link_key, sign_message
from nodes.store.schema import MESSAGE_COLUMNS
from tests import polling
from tests.brokers import free_port, start_mosquitto
from tests.e2e.harness import Network, provinces_shape, running_network, write_topology
from tests.service.certs import make_certificate

WITHIN = 90.0  # seconds for anything awaited here on a slow, shared 2-core machine
SHAPE = provinces_shape(provinces=1, cities=2, ministry=True)
KINDS = [
    "embedded",
    pytest.param("mosquitto", marks=pytest.mark.mosquitto),
    pytest.param("open-mosquitto", marks=pytest.mark.mosquitto),
]
Login = tuple[str, str] | None


@asynccontextmanager
async def forgery_network(tmp_path: Path, kind: str) -> AsyncIterator[Network]:
    async with AsyncExitStack() as stack:
        broker = kind
        if kind == "open-mosquitto":
            broker = stack.enter_context(start_mosquitto("127.0.0.1", free_port())).url
        path = write_topology(tmp_path, shape=SHAPE, broker=broker, interval=0.3, ack_timeout=1.0)
        yield await stack.enter_async_context(running_network(path, tmp_path / "state"))


def login(net: Network, node_id: str) -> Login:
    """A node's broker login, when the network's broker takes logins."""
    path = net.state.node_dir(node_id) / "exchange.password"
    return (node_id, path.read_text().strip()) if path.exists() else None


def attacker(
    net: Network, credentials: Login, *, client_id: str = "attacker", clean_session: bool = True
) -> aiomqtt.Client:
    exchange = net.topology.exchange
    username, password = credentials or (None, None)
    return aiomqtt.Client(
        exchange.broker_host,
        exchange.broker_port,
        username=username,
        password=password,
        identifier=client_id,
        clean_session=clean_session,
        timeout=10,
    )


def log_records(net: Network, node_id: str, event: str) -> list[dict[str, Any]]:
    records = []
    for line in net.log(node_id).splitlines():
        if f'"{event}"' in line:
            record = json.loads(line)
            if record.get("event") == event:
                records.append(record)
    return records


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await polling.eventually(check, what, within=WITHIN)


def logged(net: Network, node_id: str, event: str, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(log_records(net, node_id, event)) >= count

    return check


async def pending(net: Network, node_id: str) -> int:
    return int((await net.admin(node_id, "GET", "/admin/status"))["outbox_pending"])


async def at_national(net: Network, certificate_id: str) -> dict[str, Any] | None:
    found = await net.admin("national", "GET", f"/admin/catalog?id={certificate_id}")
    return found["rows"][0] if found["rows"] else None


async def issue(net: Network, node_id: str, serial: int) -> str:
    return await net.issue(node_id, make_certificate(serial).to_record())


async def reaches_national(net: Network, certificate_id: str) -> None:
    async def there() -> bool:
        return await at_national(net, certificate_id) is not None

    await eventually(there, f"{certificate_id} reaches national")


@pytest.mark.parametrize("kind", KINDS)
async def test_forgeries_change_nothing_and_a_kicked_node_resumes(
    tmp_path: Path, kind: str
) -> None:
    async with forgery_network(tmp_path, kind) as net:
        if kind != "open-mosquitto":
            with pytest.raises(aiomqtt.MqttError):  # anonymous: refused at the door
                async with attacker(net, None):
                    pass
        if kind == "mosquitto":
            check_mosquitto_files(net)
        seeded = await issue(net, "p1-c1", 900)
        await reaches_national(net, seeded)
        await forge_acks(net)
        await forge_batches(net, seeded)
        for serial, clean_session in ((902, True), (903, False)):
            await take_over(net, "p1", serial, clean_session=clean_session)


def check_mosquitto_files(net: Network) -> None:
    """Mosquitto's files are private and hold hashes, never a node's password."""
    directory = net.state.mosquitto_dir
    assert directory.stat().st_mode & 0o777 == 0o700
    for name in ("mosquitto.conf", "passwd", "acl"):
        assert (directory / name).stat().st_mode & 0o777 == 0o600, name
    hashed = dict(line.split(":", 1) for line in (directory / "passwd").read_text().splitlines())
    assert set(hashed) == {node.id for node in net.topology.nodes}
    for node_id, value in hashed.items():
        credentials = login(net, node_id)
        assert credentials is not None
        assert value.startswith("$7$")  # PBKDF2-SHA512
        assert credentials[1] not in value


async def forge_acks(net: Network) -> None:
    """While p1 is down, no forged ack lets p1-c1's batch go; once p1 is back, it arrives."""
    network = net.topology.network
    await net.stop_node("p1")
    published = len(log_records(net, "p1-c1", "catalog.batch_published"))
    certificate_id = await issue(net, "p1-c1", 901)
    await eventually(logged(net, "p1-c1", "catalog.batch_published", published + 1), "published")
    cd_batch = log_records(net, "p1-c1", "catalog.batch_published")[-1]["cd_batch"]
    topic = ack_topic(network, "p1-c1")
    ack = orjson.dumps({"cd_batch": cd_batch, "accepted": 1, "anomalies": 0})
    sibling = login(net, "p1-c2")
    if sibling is not None:  # the ACLs keep a sibling off the child's ack topic
        async with attacker(net, sibling) as client:
            await client.publish(topic, ack, qos=1)
    refused = len(log_records(net, "p1-c1", "exchange.message_rejected"))
    wrong_key = link_key(b"not the network's secret", "p1", "p1-c1")
    real_key = link_key(net.state.link_secret(), "p1", "p1-c1")
    other_content = orjson.dumps({"cd_batch": cd_batch, "anomalies": 0, "batch_sha256": "0" * 64})
    async with attacker(net, login(net, "p1")) as client:  # even with the parent's own login
        await client.publish(topic, ack, qos=1)
        await client.publish(topic, sign_message(wrong_key, topic, "p1", ack), qos=1)
        await client.publish(topic, sign_message(real_key, topic, "p1", other_content), qos=1)
    await eventually(logged(net, "p1-c1", "exchange.message_rejected", refused + 2), "refused")
    await eventually(logged(net, "p1-c1", "catalog.ack_rejected", 1), "ack of other content")
    assert await pending(net, "p1-c1") >= 1, "a forged ack emptied the outbox"
    await net.start_node("p1")
    await reaches_national(net, certificate_id)


async def forge_batches(net: Network, certificate_id: str) -> None:
    """A batch deleting a certificate, claiming to come from p1, is never applied at national."""
    network = net.topology.network
    row = await at_national(net, certificate_id)
    assert row is not None
    values = {**row, "cd_operation": "D", "cd_time": "2099-01-01T00:00:00.000000+08:00"}
    batch = orjson.dumps(
        {
            "cd_batch": "p1-990001",
            "from": "p1",
            "columns": list(MESSAGE_COLUMNS),
            "rows": [[values.get(column, "") for column in MESSAGE_COLUMNS]],
        }
    )
    topic = catalog_topic(network, "national")
    refused = len(log_records(net, "national", "exchange.message_rejected"))
    mismatched = len(log_records(net, "national", "catalog.message_rejected"))
    mot_key = link_key(net.state.link_secret(), "mot", "national")
    async with attacker(net, login(net, "p1")) as client:
        await client.publish(topic, batch, qos=1)
        forged = sign_message(link_key(b"guess", "p1", "national"), topic, "p1", batch)
        await client.publish(topic, forged, qos=1)
    async with attacker(net, login(net, "mot")) as client:  # mot's own key, p1's name
        await client.publish(topic, sign_message(mot_key, topic, "mot", batch), qos=1)
    await eventually(logged(net, "national", "exchange.message_rejected", refused + 2), "refused")
    await eventually(logged(net, "national", "catalog.message_rejected", mismatched + 1), "from")
    after = await at_national(net, certificate_id)
    assert after is not None
    assert after["cd_operation"] != "D", "a forged batch was applied at national"


async def take_over(net: Network, node_id: str, serial: int, *, clean_session: bool) -> None:
    """A client connecting with the node's client id (and its login) pushes it off, wiping its
    session or resuming it; the node reconnects, subscribes again and ingests what its children
    send."""
    [*_, last] = log_records(net, node_id, "exchange.connected")
    connected = len(log_records(net, node_id, "exchange.connected"))
    dropped = len(log_records(net, node_id, "exchange.disconnected"))
    client_id = last["client_id"]
    squatter = attacker(net, login(net, node_id), client_id=client_id, clean_session=clean_session)
    async with squatter:
        await eventually(logged(net, node_id, "exchange.disconnected", dropped + 1), "kicked")
        # the node takes its client id back while the squatter is still there
        await eventually(logged(net, node_id, "exchange.connected", connected + 1), "reconnected")
    await reaches_national(net, await issue(net, f"{node_id}-c1", serial))
