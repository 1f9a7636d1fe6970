"""The MQTT exchange against real brokers (amqtt embedded and Mosquitto) over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from gateway.control.broker import run_broker
from gateway.core.errors import ExchangeError, ExchangeUnavailable
from gateway.core.exchange import (
    Exchange,
    OnMessage,
    TopicKind,
    ack_topic,
    anomaly_topic,
    catalog_topic,
    parse_topic,
    types_topic,
)
from gateway.core.links import link_key, sign_message
from tests.brokers import (  # the fixtures until a conftest imports them
    HOST,
    BrokerProcess,
    broker_fixture,  # noqa: F401
    embedded_broker_fixture,  # noqa: F401
    free_port,
    mosquitto_broker_fixture,  # noqa: F401
)

WITHIN = 10.0  # seconds any single expected event may take on a slow machine


class Inbox:
    """An ``on_message`` callback that queues what it receives."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def __call__(self, topic: str, payload: dict[str, Any]) -> None:
        await self.queue.put((topic, payload))

    async def next(self, within: float = WITHIN) -> tuple[str, dict[str, Any]]:
        async with asyncio.timeout(within):
            return await self.queue.get()


@pytest.fixture
def network() -> str:
    """A network name of its own, so no two tests share a topic."""
    return f"t-{uuid.uuid4().hex[:12]}"


def exchange(
    host: str,
    port: int,
    network: str,
    name: str,
    *,
    subscriptions: list[str] | None = None,
    inbox: OnMessage | None = None,
    **options: Any,
) -> Exchange:
    return Exchange(
        network=network,
        host=host,
        port=port,
        client_id=f"{network}-{name}",
        subscriptions=subscriptions or [],
        on_message=inbox or Inbox(),
        **options,
    )


@contextlib.asynccontextmanager
async def pair(
    host: str, port: int, network: str, inbox: Inbox, **options: Any
) -> AsyncIterator[tuple[Exchange, Exchange, str]]:
    """A connected child publisher and a parent subscribed to its catalog topic."""
    topic = catalog_topic(network, "parent")
    parent_exchange = exchange(host, port, network, "parent", subscriptions=[topic], inbox=inbox)
    child_exchange = exchange(host, port, network, "child", **options)
    async with parent_exchange as parent, child_exchange as child:
        async with asyncio.timeout(WITHIN):
            await parent.connected.wait()
            await child.connected.wait()
        yield child, parent, topic


async def publish_until_received(
    publisher: Exchange, inbox: Inbox, topic: str, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Publish whenever connected until ``payload`` arrives (it may be lost while reconnecting)."""
    async with asyncio.timeout(WITHIN * 2):
        while True:
            await publisher.connected.wait()
            with contextlib.suppress(ExchangeUnavailable):
                await publisher.publish(topic, payload)
                with contextlib.suppress(TimeoutError):
                    while (received := await inbox.next(within=0.5))[1] != payload:
                        pass
                    return received


async def raw_publish(host: str, port: int, topic: str, body: bytes) -> None:
    """Publish raw bytes at QoS 1 over a hand-written MQTT 3.1.1 exchange (CONNECT … PUBACK)."""

    def packet(kind: int, body: bytes) -> bytes:
        size, length = len(body), b""
        while True:
            size, digit = divmod(size, 128)
            length += bytes([digit | (0x80 if size else 0)])
            if not size:
                return bytes([kind]) + length + body

    def text(value: str) -> bytes:
        return struct.pack("!H", len(value)) + value.encode()

    reader, writer = await asyncio.open_connection(host, port)
    try:
        client_id = text(f"raw-{uuid.uuid4().hex}")
        writer.write(packet(0x10, text("MQTT") + b"\x04\x02\x00\x3c" + client_id))
        assert await reader.readexactly(4) == b"\x20\x02\x00\x00"  # CONNACK, accepted
        writer.write(packet(0x32, text(topic) + b"\x00\x01" + body))
        assert await reader.readexactly(4) == b"\x40\x02\x00\x01"  # PUBACK for packet id 1
        writer.write(packet(0xE0, b""))
    finally:
        writer.close()
        await writer.wait_closed()


# -- topics ----------------------------------------------------------------------------------------


def test_topics_follow_spec_and_parse_back() -> None:
    assert catalog_topic("demo", "hlj") == "ecert/demo/catalog/hlj"
    assert types_topic("demo", "hlj") == "ecert/demo/types/hlj"
    assert anomaly_topic("demo", "hrb") == "ecert/demo/anomaly/hrb"
    assert ack_topic("demo", "hrb") == "ecert/demo/ack/hrb"
    assert parse_topic("ecert/demo/ack/hrb") == (TopicKind.ACK, "hrb")
    for bad in ("ecert/demo/ack", "other/demo/ack/hrb", "ecert/demo/nope/hrb", "ecert/demo/ack/+"):
        with pytest.raises(ExchangeError):
            parse_topic(bad)
    with pytest.raises(ExchangeError):
        catalog_topic("demo", "#")


# -- round trips ---------------------------------------------------------------------------------


async def test_round_trip(broker: BrokerProcess, network: str) -> None:
    """A dict published by one client reaches the subscriber as the same dict on the same topic."""
    inbox = Inbox()
    async with pair(broker.host, broker.port, network, inbox) as (child, parent, topic):
        before = time.time()
        payload = {"cd_batch": "b1", "rows": [{"cd_operation": "I"}], "issue_dept": "哈尔滨市"}
        await child.publish(topic, payload)
        assert await inbox.next() == (topic, payload)
        assert parent.last_message_at is not None
        assert parent.last_message_at >= before


async def test_in_process_broker_round_trip(network: str) -> None:
    """run_broker serves in-process and stops promptly when triggered, clients still connected."""
    port, stop, ready = free_port(), asyncio.Event(), asyncio.Event()
    with capture_logs() as logs:
        async with asyncio.TaskGroup() as tasks:
            server = tasks.create_task(
                run_broker(HOST, port, shutdown_trigger=stop.wait, on_ready=ready.set)
            )
            async with asyncio.timeout(WITHIN):
                await ready.wait()
            inbox = Inbox()
            async with pair(HOST, port, network, inbox) as (child, _, topic):
                await child.publish(topic, {"n": 1})
                assert await inbox.next() == (topic, {"n": 1})
                stop.set()
                async with asyncio.timeout(WITHIN):
                    await server
    events = [entry["event"] for entry in logs]
    assert "broker.stopped" in events
    assert "broker.shutdown_timed_out" not in events


async def test_non_json_payload_is_skipped(broker: BrokerProcess, network: str) -> None:
    """Payloads that are not JSON objects are logged and skipped; the next message still arrives."""
    inbox = Inbox()
    with capture_logs() as logs:
        async with pair(broker.host, broker.port, network, inbox) as (child, _, topic):
            await raw_publish(broker.host, broker.port, topic, b"\xffnot json")
            await raw_publish(broker.host, broker.port, topic, b"[1, 2]")
            await child.publish(topic, {"n": 1})
            assert await inbox.next() == (topic, {"n": 1})
            assert inbox.queue.empty()
    rejected = [entry for entry in logs if entry["event"] == "exchange.payload_rejected"]
    assert len(rejected) == 2


async def test_a_handler_may_take_bodies_before_they_are_decoded(
    broker: BrokerProcess, network: str
) -> None:
    """``take_body`` sees every body first; what it takes is never decoded (not even when it
    is not JSON), the rest reaches ``on_message`` decoded."""
    inbox, taken = Inbox(), asyncio.Queue[bytes]()

    async def take_body(topic: str, body: bytes) -> bool:
        if body.startswith(b"big:"):
            await taken.put(body)
            return True
        return False

    topic = catalog_topic(network, "parent")
    async with (
        exchange(
            broker.host,
            broker.port,
            network,
            "parent",
            subscriptions=[topic],
            inbox=inbox,
            take_body=take_body,
        ) as parent,
        exchange(broker.host, broker.port, network, "child") as child,
    ):
        async with asyncio.timeout(WITHIN):
            await parent.connected.wait()
            await child.connected.wait()
        await raw_publish(broker.host, broker.port, topic, b"big:\xff not json")
        await child.publish(topic, {"n": 3})
        async with asyncio.timeout(WITHIN):
            assert await taken.get() == b"big:\xff not json"
        assert await inbox.next() == (topic, {"n": 3})
        assert taken.empty()


async def test_failing_handler_does_not_stop_the_loop(broker: BrokerProcess, network: str) -> None:
    """An exception in on_message is logged and the next message is still delivered."""
    inbox = Inbox()

    async def handler(topic: str, payload: dict[str, Any]) -> None:
        if payload.get("explode"):
            raise RuntimeError("handler bug")
        await inbox(topic, payload)

    topic = catalog_topic(network, "parent")
    with capture_logs() as logs:
        async with (
            exchange(
                broker.host, broker.port, network, "parent", subscriptions=[topic], inbox=handler
            ) as parent,
            exchange(broker.host, broker.port, network, "child") as child,
        ):
            async with asyncio.timeout(WITHIN):
                await parent.connected.wait()
                await child.connected.wait()
            await child.publish(topic, {"explode": True})
            await child.publish(topic, {"n": 2})
            assert await inbox.next() == (topic, {"n": 2})
    assert [entry["event"] for entry in logs].count("exchange.message_failed") == 1


# -- the broker goes away ------------------------------------------------------------------------


async def test_publish_without_broker_raises_at_once(network: str) -> None:
    """With no broker listening, publish raises ExchangeUnavailable immediately."""
    async with exchange(HOST, free_port(), network, "lonely") as lonely:
        started = time.monotonic()
        with pytest.raises(ExchangeUnavailable) as caught:
            await lonely.publish(catalog_topic(network, "parent"), {"n": 1})
        assert time.monotonic() - started < 0.5
        assert not lonely.connected.is_set()
        assert caught.value.broker == f"{HOST}:{lonely.port}"


async def test_publish_after_broker_stopped_raises_quickly(
    broker: BrokerProcess, network: str
) -> None:
    """Once the broker is gone, publish raises ExchangeUnavailable within its timeout."""
    inbox = Inbox()
    connected = pair(broker.host, broker.port, network, inbox, publish_timeout=1.0)
    async with connected as (child, _, topic):
        await asyncio.to_thread(broker.stop)
        started = time.monotonic()
        with pytest.raises(ExchangeUnavailable):
            await child.publish(topic, {"n": 1})
        assert time.monotonic() - started < 2.0  # the 1 s publish timeout plus scheduling slack
    assert broker.returncode == 0  # SIGTERM was enough, even with clients connected


async def test_reconnects_after_broker_restart(broker: BrokerProcess, network: str) -> None:
    """After a broker restart both clients reconnect by themselves and messages flow again."""
    inbox = Inbox()
    with capture_logs() as logs:
        async with pair(broker.host, broker.port, network, inbox) as (child, _, topic):
            await child.publish(topic, {"n": "before"})
            assert await inbox.next() == (topic, {"n": "before"})
            await asyncio.to_thread(broker.restart)
            assert await publish_until_received(child, inbox, topic, {"n": "after"}) == (
                topic,
                {"n": "after"},
            )
    connected = [entry["client_id"] for entry in logs if entry["event"] == "exchange.connected"]
    assert sorted(connected) == sorted([f"{network}-parent", f"{network}-child"] * 2)


# -- signed messages -------------------------------------------------------------------------------


async def test_with_link_keys_only_a_neighbours_signed_messages_are_handed_over(
    broker: BrokerProcess, network: str
) -> None:
    """A parent holding link keys never handles an unsigned message, one signed with another
    link's key, or one whose body was changed after signing; it reports each, and the child's
    own messages (signed by its exchange client) arrive with their signer named."""
    key, other = link_key(b"s" * 32, "parent", "child"), link_key(b"s" * 32, "parent", "x")
    topic = catalog_topic(network, "parent")
    inbox, refused = Inbox(), list[tuple[str, str]]()
    with capture_logs() as logs:
        async with (
            exchange(
                broker.host,
                broker.port,
                network,
                "parent",
                subscriptions=[topic],
                inbox=inbox,
                node_id="parent",
                link_keys={"child": key},
                on_rejected=lambda t, exc: refused.append((t, exc.reason)),
            ) as parent,
            exchange(
                broker.host,
                broker.port,
                network,
                "child",
                node_id="child",
                link_keys={"parent": key},
            ) as child,
        ):
            async with asyncio.timeout(WITHIN):
                await parent.connected.wait()
                await child.connected.wait()
            body = b'{"cd_batch":"child-1","from":"child","rows":[]}'
            await raw_publish(broker.host, broker.port, topic, body)
            await raw_publish(
                broker.host, broker.port, topic, sign_message(other, topic, "child", body)
            )
            changed = sign_message(key, topic, "child", body).replace(b"child-1", b"child-2")
            await raw_publish(broker.host, broker.port, topic, changed)
            await child.publish(topic, body)
            received_topic, payload = await inbox.next()
    assert (received_topic, payload["cd_batch"], payload["link_from"]) == (
        topic,
        "child-1",
        "child",
    )
    assert inbox.queue.empty()
    assert refused == [
        (topic, "unsigned"),
        (topic, "wrong signature"),
        (topic, "body does not match its digest"),
    ]
    rejected = [entry for entry in logs if entry["event"] == "exchange.message_rejected"]
    assert len(rejected) == 3
