"""The MQTT transport of the exchange platform (SPEC §6.3); the only module that imports aiomqtt.

Topics are ``ecert/<network>/<kind>/<node-id>``: catalog increments and type catalogues travel up
to the parent's ``catalog``/``types`` topic, anomalies and acknowledgements down to the child's
``anomaly``/``ack`` topic. Payloads are JSON objects.

``Exchange`` keeps one persistent-session connection (QoS 1) alive in a background
``receive_loop``, hands every JSON-object message to ``on_message`` and lets callers ``publish``
through the live connection; a node may take a message's body before it is decoded
(``take_body``), to decode big ones elsewhere. aiomqtt does not reconnect by itself; the loop
does, with jittered exponential backoff, for as long as the context is open. The broker is not
trusted to keep messages for an offline subscriber: the aggregation above acknowledges batches
end to end.

Nor is it trusted with who said what: given the node's ``link_keys``, every message of a link
(``LINK_KINDS``: catalog, types, anomaly, ack) published is signed with the key of the link to
the node the topic addresses, and every such message received must carry a valid signature of a
neighbour (``gateway.core.links``); anything else is logged (``exchange.message_rejected``),
reported to ``on_rejected`` and never handed over. A node's own broadcast topics (``reminders``,
``grants``) belong to no link: only the broker's ACLs say who may publish on them.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

import aiomqtt
import orjson
import structlog
from paho.mqtt.reasoncodes import ReasonCode  # what aiomqtt's subscribe() returns
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_never,
    wait_random_exponential,
)

from gateway.core.errors import ExchangeError, ExchangeUnavailable
from gateway.core.links import LinkKeys, LinkSignatureError, open_message, sign_message
from gateway.core.topology import NODE_ID_PATTERN

OnMessage = Callable[[str, dict[str, Any]], Awaitable[None]]
TakeBody = Callable[[str, bytes], Awaitable[bool]]  # True: the body was taken, undecoded
OnRejected = Callable[[str, LinkSignatureError], None]  # a message refused for its signature

TOPIC_ROOT = "ecert"
QOS = 1  # at least once, SPEC §6.3
BACKOFF_MULTIPLIER = 0.1  # seconds; the first retry waits up to this, doubling per failure
BACKOFF_CAP = 2.0  # seconds; no reconnect attempt waits longer than this


class TopicKind(StrEnum):
    CATALOG = "catalog"  # child → parent: catalog increments (E.1 rows)
    TYPES = "types"  # child → parent: type catalogue
    ANOMALY = "anomaly"  # parent → child: rejected rows (E.2)
    ACK = "ack"  # parent → child: committed batches
    REMINDERS = "reminders"  # a node's expiry reminders (§8.3.4), retained; its parent may read
    GRANTS = "grants"  # a node's active authorisations (§8.1.3), retained; every node reads


# what travels between a parent and a child, signed with their link's key
LINK_KINDS = frozenset({TopicKind.CATALOG, TopicKind.TYPES, TopicKind.ANOMALY, TopicKind.ACK})


# -- topics -------------------------------------------------------------------------------------


def _topic(network: str, kind: TopicKind, node_id: str) -> str:
    for label, value in (("network", network), ("node id", node_id)):
        if not re.fullmatch(NODE_ID_PATTERN, value):
            raise ExchangeError(f"{label} {value!r} cannot be a topic segment")
    return f"{TOPIC_ROOT}/{network}/{kind}/{node_id}"


def catalog_topic(network: str, parent_id: str) -> str:
    return _topic(network, TopicKind.CATALOG, parent_id)


def types_topic(network: str, parent_id: str) -> str:
    return _topic(network, TopicKind.TYPES, parent_id)


def anomaly_topic(network: str, child_id: str) -> str:
    return _topic(network, TopicKind.ANOMALY, child_id)


def ack_topic(network: str, child_id: str) -> str:
    return _topic(network, TopicKind.ACK, child_id)


def reminders_topic(network: str, node_id: str) -> str:
    return _topic(network, TopicKind.REMINDERS, node_id)


def grants_topic(network: str, node_id: str) -> str:
    return _topic(network, TopicKind.GRANTS, node_id)


def every_grants_topic(network: str) -> str:
    """The filter of every node's ``grants`` topic."""
    return grants_topic(network, "x").rsplit("/", 1)[0] + "/+"


def parse_topic(topic: str) -> tuple[TopicKind, str]:
    """``ecert/<network>/<kind>/<node-id>`` → ``(kind, node_id)``; ExchangeError otherwise."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != TOPIC_ROOT:
        raise ExchangeError(f"not an exchange topic: {topic!r}")
    _, network, kind, node_id = parts
    try:
        parsed = TopicKind(kind)
    except ValueError:
        raise ExchangeError(f"unknown message kind {kind!r} in topic {topic!r}") from None
    _topic(network, parsed, node_id)  # validates both segments
    return parsed, node_id


def _of_a_link(topic: str) -> bool:
    """Whether a message on ``topic`` is signed (a topic that is not an exchange topic is
    treated as one, so that it is checked, and refused)."""
    try:
        kind, _ = parse_topic(topic)
    except ExchangeError:
        return True
    return kind in LINK_KINDS


def decode_payload(raw: object) -> dict[str, Any]:
    """A payload must be a JSON object; ValueError says why it is not."""
    if not isinstance(raw, bytes | bytearray | str):
        raise ValueError(f"payload of type {type(raw).__name__}")
    value = orjson.loads(raw)  # orjson.JSONDecodeError is a ValueError
    if not isinstance(value, dict):
        raise ValueError(f"payload is a JSON {type(value).__name__}, not an object")
    return value


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _not_cancelling(_: RetryCallState) -> bool:
    """Never retry in a task being cancelled: leaving the context must end the loop."""
    return not _cancelling()


# -- the connection -----------------------------------------------------------------------------


class Exchange:
    """One client of the exchange broker, alive while the ``async with`` block runs.

    ``connected`` is set while a session is up and subscribed; ``last_message_at`` is the wall
    clock (``time.time()``) of the last message received, None before the first. ``client_id``
    must be unique on the broker: two clients with one id keep taking the session from each other.

    Connection failures are retried for as long as the context is open (jittered exponential
    backoff, at most ``BACKOFF_CAP`` seconds apart). A subscription the broker refuses cannot be
    mended by retrying: the loop ends with ExchangeError, which cancels the ``async with`` body
    and leaves the context inside an ExceptionGroup (TaskGroup semantics).
    """

    def __init__(
        self,
        *,
        network: str,
        host: str,
        port: int,
        client_id: str,
        subscriptions: Sequence[str],
        on_message: OnMessage,
        take_body: TakeBody | None = None,
        publish_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        keepalive: int = 10,
        username: str | None = None,
        password: str | None = None,
        loop_name: str | None = None,
        node_id: str | None = None,
        link_keys: LinkKeys | None = None,
        on_rejected: OnRejected | None = None,
    ) -> None:
        self.network = network
        self.host = host
        self.port = port
        self.client_id = client_id
        self.subscriptions = tuple(subscriptions)
        self.on_message = on_message
        self.take_body = take_body
        self.publish_timeout = publish_timeout
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.username, self._password = username, password
        # with keys, messages are signed as ``node_id`` and must arrive signed (links.py)
        self.node_id = node_id or username or client_id
        self.link_keys = dict(link_keys or {})
        self.on_rejected = on_rejected
        self.loop_name = loop_name or f"exchange[{client_id}].receive_loop"  # its task's name
        self.connected = asyncio.Event()
        self.last_message_at: float | None = None
        self._client: aiomqtt.Client | None = None
        self._running: AsyncExitStack | None = None
        self._loop_task: asyncio.Task[None] | None = None
        # A lazy logger: it follows structlog's configuration at each call, not at construction.
        self._log = structlog.get_logger(network=network, client_id=client_id, broker=self.broker)

    @property
    def broker(self) -> str:
        return f"{self.host}:{self.port}"

    # -- lifetime ------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        if self._running is not None:
            raise RuntimeError(f"exchange[{self.client_id}] is already running")
        async with AsyncExitStack() as stack:
            tasks = await stack.enter_async_context(asyncio.TaskGroup())
            self._loop_task = tasks.create_task(self.receive_loop(), name=self.loop_name)
            self._running = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        if self._loop_task is not None:
            self._loop_task.cancel()
        # Only a cancellation is passed on: the TaskGroup must see it to tell its own abort from
        # an outside cancel. Any other error of the body propagates unwrapped (we return None).
        if exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            await running.__aexit__(exc_type, exc, tb)
        else:
            await running.aclose()
        self._log.info("exchange.closed")

    # -- sending -------------------------------------------------------------------------------
    async def publish(
        self, topic: str, payload: dict[str, Any] | bytes, *, retain: bool = False
    ) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK, at most ``publish_timeout``.

        ``payload`` is a JSON object, or one already encoded; ``retain``: the broker keeps it
        for whoever subscribes later (the latest of the topic)."""
        client = self._client
        if client is None:
            raise ExchangeUnavailable("not connected", broker=self.broker)
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        if self.link_keys and _of_a_link(topic):
            body = self._signed(topic, body)
        try:
            async with asyncio.timeout(self.publish_timeout):
                await client.publish(
                    topic, body, qos=QOS, retain=retain, timeout=self.publish_timeout
                )
        except (aiomqtt.MqttError, TimeoutError) as exc:
            raise ExchangeUnavailable(
                f"publish to {topic} failed: {str(exc) or 'timed out'}", broker=self.broker
            ) from exc

    def _signed(self, topic: str, body: bytes) -> bytes:
        _, addressee = parse_topic(topic)
        key = self.link_keys.get(addressee)
        if key is None:
            raise ExchangeError(f"no link key for {addressee}: cannot sign for {topic}")
        return sign_message(key, topic, self.node_id, body)

    # -- receiving -----------------------------------------------------------------------------
    async def receive_loop(self) -> None:
        """Connect, subscribe and dispatch until cancelled, reconnecting after MqttError."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(aiomqtt.MqttError) & _not_cancelling,
            wait=wait_random_exponential(multiplier=BACKOFF_MULTIPLIER, max=BACKOFF_CAP),
            stop=stop_never,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._run_session()
        except aiomqtt.MqttError:
            # aiomqtt's disconnect, timing out, can turn our cancellation into an MqttError.
            if _cancelling():
                raise asyncio.CancelledError from None
            raise

    async def _run_session(self) -> None:
        client = aiomqtt.Client(
            self.host,
            self.port,
            identifier=self.client_id,
            username=self.username,
            password=self._password,
            clean_session=False,
            keepalive=self.keepalive,
            timeout=self.connect_timeout,
            # Small QoS 1 messages would otherwise wait on Nagle's algorithm for the broker's
            # delayed ACK: ~90 ms per hop instead of ~10 ms for a new certificate to reach national.
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )
        async with client:
            await self._subscribe(client)
            self._client = client
            self.connected.set()
            self._log.info("exchange.connected", subscriptions=list(self.subscriptions))
            try:
                async for message in client.messages:
                    await self._dispatch(message)
            except aiomqtt.MqttError as exc:
                self._log.warning("exchange.disconnected", error=str(exc))
                raise
            finally:
                self._client = None
                self.connected.clear()

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        if not self.subscriptions:
            return
        granted = await client.subscribe([(topic, QOS) for topic in self.subscriptions])
        codes: list[int | ReasonCode] = list(granted)
        refused = [
            topic
            for topic, code in zip(self.subscriptions, codes, strict=True)
            if (code.is_failure if isinstance(code, ReasonCode) else code >= 0x80)  # SUBACK refusal
        ]
        if refused:
            raise ExchangeError(f"broker {self.broker} refused subscriptions {refused}")

    async def _dispatch(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        self.last_message_at = time.time()
        try:
            await self.hand_over(topic, message.payload)
        except Exception:
            self._log.exception("exchange.message_failed", topic=topic)

    async def hand_over(self, topic: str, body: object) -> None:
        """Give one received message to the node: the body itself when ``take_body`` takes it,
        else the decoded JSON object (a body that is not one is logged and dropped). With link
        keys, a message without a neighbour's valid signature is dropped before either."""
        if self.link_keys and _of_a_link(topic) and not self._verified(topic, body):
            return
        take = self.take_body
        if take is not None and isinstance(body, bytes) and await take(topic, body):
            return
        try:
            payload = decode_payload(body)
        except ValueError as exc:
            self._log.warning("exchange.payload_rejected", topic=topic, reason=str(exc))
            return
        await self.on_message(topic, payload)

    def _verified(self, topic: str, body: object) -> bool:
        try:
            if not isinstance(body, bytes | bytearray):
                raise LinkSignatureError("unsigned")
            open_message(self.link_keys, topic, bytes(body))
        except LinkSignatureError as exc:
            self._log.warning(
                "exchange.message_rejected", topic=topic, reason=exc.reason, link_from=exc.link_from
            )
            if self.on_rejected is not None:
                self.on_rejected(topic, exc)
            return False
        return True

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else None
        self._log.info(
            "exchange.reconnect_scheduled",
            attempt=state.attempt_number,
            delay=round(delay, 3) if delay is not None else None,
            error=str(error),
        )
