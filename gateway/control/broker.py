"""The embedded MQTT broker (SPEC §6.3): amqtt on one TCP listener.

``python -m gateway.control.broker --host H --port P [--access FILE]`` prints ``ready`` once the
listener accepts connections and stops cleanly on SIGTERM or SIGINT; ``run_broker`` does the same
in-process. With ``--access`` (what the launcher gives it) only the network's nodes get in, each
with its own password and topic ACLs (``gateway.control.exchange_access``); without it, anyone
may connect (tests and experiments by hand).

amqtt 0.12.1 queues nothing for an offline subscriber that authenticated anonymously, even with a
persistent session and QoS 1 (``Broker._run_broadcast`` skips ``session.is_anonymous``), and the
AnonymousAuthPlugin marks every client anonymous while ``allow_anonymous`` is on. Messages
published while a subscriber is away are therefore lost here (Mosquitto keeps them in memory).
The exchange does not rely on either: batches are acknowledged end to end (SPEC §6.3).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

from gateway.control.exchange_access import password_digest
from gateway.core.logs import configure_json_logging

log = structlog.get_logger()

SHUTDOWN_WITHIN = 3.0  # seconds

# amqtt logs every connection at INFO and its state machine (``transitions``) at INFO too.
_NOISY_LOGGERS = ("amqtt", "transitions")


class NodeAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no types
    """Only the network's nodes get in: a username known to the broker with the password whose
    SHA-256 it holds (``gateway.control.exchange_access``)."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)  # username → password digest

    async def authenticate(self, *, session: Session) -> bool:
        expected = self.config.users.get(session.username or "")
        if expected is None or not session.password:
            log.warning(
                "broker.login_refused", username=session.username, client_id=session.client_id
            )
            return False
        return hmac.compare_digest(password_digest(str(session.password)), expected)


class NodeBroker(Broker):  # type: ignore[misc]  # amqtt ships no types
    """amqtt's broker, with a client-id take-over (MQTT 3.1.4-2) that leaves a working session.

    amqtt 0.12.1 gets it wrong twice, and each time a node pushed off the broker by a client
    using its id stopped ingesting until restarted (issue #13):

    - a newcomer asking for a clean session has the old session dropped (subscriptions too) but
      the client holding it stays connected, pinging, never getting another message. Here its
      connection is closed first, as amqtt does for a resumed session; the node reconnects and
      subscribes again;
    - when a newcomer resumes the session, the connection it took it from ends later and marks
      the shared session disconnected: nothing is delivered to the newcomer any more. Here the
      end of a connection that no longer holds its session leaves the session alone, and a
      connection starting its message loop has its session marked connected.
    """

    async def _delete_session(self, client_id: str) -> None:
        session, handler = self._sessions.get(client_id, (None, None))
        if session is not None and handler is not None and session.transitions.is_connected():
            log.warning("broker.client_taken_over", client_id=client_id)
            await handler.handle_connection_closed()
            await handler.stop()
        await super()._delete_session(client_id)

    async def _handle_disconnect(
        self, client_session: Session, handler: Any, disconnect_waiter: asyncio.Future[Any]
    ) -> None:
        _, current = self._sessions.get(client_session.client_id, (None, None))
        if current is not None and current is not handler:  # taken over: the session lives on
            await self._stop_handler(handler)
            return
        await super()._handle_disconnect(client_session, handler, disconnect_waiter)

    async def _client_message_loop(self, client_session: Session, handler: Any) -> None:
        if not client_session.transitions.is_connected():  # the connection taken over ended
            client_session.transitions.connect()
        await super()._client_message_loop(client_session, handler)


def broker_config(host: str, port: int, access: dict[str, Any] | None = None) -> dict[str, Any]:
    """amqtt 0.12 configuration: one TCP listener, only the anonymous-auth plugin.

    Leaving out the default plugins also drops ``$SYS`` publishing and the packet logger.
    """
    listeners = {"default": {"type": "tcp", "bind": f"{host}:{port}"}}
    if access is None:  # a broker for tests and by hand: anyone may connect
        plugins: dict[str, Any] = {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
        }
        return {"listeners": listeners, "plugins": plugins}
    plugins = {
        f"{__name__}.NodeAuthPlugin": {"users": access["users"]},
        "amqtt.plugins.topic_checking.TopicAccessControlListPlugin": {
            "publish_acl": access["publish"],
            "acl": access["subscribe"],
        },
    }
    return {"listeners": listeners, "plugins": plugins}


def quiet_amqtt_logging(level: int = logging.WARNING) -> None:
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)


async def run_broker(
    host: str,
    port: int,
    *,
    shutdown_trigger: Callable[[], Awaitable[object]],
    on_ready: Callable[[], None] | None = None,
    access: dict[str, Any] | None = None,
) -> None:
    """Serve MQTT on ``host:port`` until ``shutdown_trigger()`` returns, then shut down."""
    quiet_amqtt_logging()
    broker = NodeBroker(broker_config(host, port, access))
    await broker.start()
    log.info("broker.started", host=host, port=port)
    try:
        if on_ready is not None:
            on_ready()
        await shutdown_trigger()
    finally:
        await _stop(broker)
        log.info("broker.stopped", host=host, port=port)


async def _stop(broker: Broker) -> None:
    """Hang up on every client, then shut amqtt down, giving up after ``SHUTDOWN_WITHIN``.

    amqtt 0.12.1's shutdown cancels each client's reader task and waits for it to end. On Python
    3.11 a packet arriving at that instant makes ``asyncio.wait_for`` swallow the cancel, and the
    shutdown then waits until the client hangs up by itself, which a client that keeps pinging
    never does. Closing the connections first ends every reader with EOF instead.
    """
    for _, handler in list(broker.sessions.values()):
        if handler is not None and handler.writer is not None:
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(SHUTDOWN_WITHIN):
                    await handler.writer.close()
    try:
        async with asyncio.timeout(SHUTDOWN_WITHIN):
            await broker.shutdown()
    except TimeoutError:
        log.warning("broker.shutdown_timed_out", within=SHUTDOWN_WITHIN)


async def _serve(host: str, port: int, access: dict[str, Any] | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def announce() -> None:
        print("ready", flush=True)  # the one line parents wait for

    await run_broker(host, port, shutdown_trigger=stop.wait, on_ready=announce, access=access)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gateway.control.broker", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=1883, help="TCP port to listen on")
    parser.add_argument(
        "--access", type=Path, help="users and topic ACLs (JSON); without it anyone may connect"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    configure_json_logging(component="broker")
    access = json.loads(args.access.read_text(encoding="utf-8")) if args.access else None
    asyncio.run(_serve(args.host, args.port, access))


if __name__ == "__main__":
    main()
