"""One real node app on a real socket (pytest-aiohttp), its store in ``tmp_path``, its clock ours.

The node listens on its own loopback address (127.0.2.200–249, a free port there); callers connect
from other loopback addresses, so the IP binding of accounts is exercised for real. The resolver
is ``answer_locally`` behind a recorder, so a test can see the MethodCall the handler built; its
neighbours (for relayed files) are a real Forwarder, with no neighbour running.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from gateway.core.client import client_session
from gateway.core.events import EventSink, NullEvents
from gateway.core.forwarder import Forwarder
from gateway.core.topology import Topology, parse_topology
from nodes.call import Answer, MethodCall
from nodes.clock import Clock
from nodes.context import NodeContext
from nodes.http.app import create_app
from nodes.http.sharing import ACCESS, AUDIT
from nodes.relay import FileRelay
from nodes.seals.sealing import ensure_seals
from nodes.serve import ready_to_serve
from nodes.settings import NodeSettings
from nodes.sharing.local import answer_locally
from nodes.store.accounts import Account
from nodes.store.store import Store
from tests.brokers import free_port
from tests.service.certs import ISSUER, ISSUER_NAME

NODE_ID = "hlj-harbin"
APP_IP = "127.0.2.251"  # the business application's bound address
OTHER_IP = "127.0.2.252"  # somewhere else on the same machine
PEER_IP = "127.0.2.253"  # where the parent node ("hlj") calls from in these tests


def topology_text(host: str, port: int) -> str:
    return f"""
network: svc
timezone: Asia/Shanghai
path: /ecert
nodes:
  - {{id: national, tier: national, name: 国家电子证照共享系统, host: 127.0.2.254, port: 8701}}
  - {{id: hlj, tier: province, parent: national, name: 黑龙江省电子证照共享系统,
      area_code: "230000", host: {PEER_IP}, port: 8701}}
  - {{id: {NODE_ID}, tier: city, parent: hlj, name: 哈尔滨市电子证照共享系统, area_code: "230100",
      data_source: "101", host: {host}, port: {port}}}
"""


@dataclass
class Reply:
    status: int  # HTTP status
    body: Any
    headers: dict[str, str]
    raw: bytes

    @property
    def code(self) -> str:
        return str(self.body["head"]["status"])

    @property
    def items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.body["data"]["dataList"]
        return items


@dataclass
class Node:
    """The running node and helpers to call it from a chosen source address."""

    ctx: NodeContext
    server: TestServer
    calls: list[MethodCall] = field(default_factory=list)
    sessions: dict[str, aiohttp.ClientSession] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.ctx.node.url}{self.ctx.topology.path}"

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    def session(self, source: str = APP_IP) -> aiohttp.ClientSession:
        if source not in self.sessions:
            self.sessions[source] = client_session(local_host=source, total_timeout=20)
        return self.sessions[source]

    async def post(
        self,
        method: str,
        *,
        data: Any = None,
        json: Any = None,
        source: str = APP_IP,
        headers: dict[str, str] | None = None,
        http_method: str = "POST",
    ) -> Reply:
        session = self.session(source)
        async with session.request(
            http_method, f"{self.url}/{method}", data=data, json=json, headers=headers
        ) as response:
            raw = await response.read()
            return Reply(response.status, orjson.loads(raw), dict(response.headers), raw)

    async def get(self, url: str, source: str = APP_IP) -> tuple[int, dict[str, str], bytes]:
        async with self.session(source).get(url) as response:
            return response.status, dict(response.headers), await response.read()

    async def account(self, ip: str = APP_IP, *, rate_limit: float = 1000.0) -> Account:
        access = self.server.app[ACCESS]
        return await access.create_account(ip=ip, name="test application", rate_limit=rate_limit)

    async def token(self, account: Account, source: str | None = None) -> str:
        reply = await self.post(
            "token", data={"AccountId": account.account_id}, source=source or account.bound_ip
        )
        assert reply.code == "0", reply.body
        token: str = reply.body["data"]["dataList"]
        return token

    async def login(self, ip: str = APP_IP, *, rate_limit: float = 1000.0) -> dict[str, str]:
        """A fresh account bound to ``ip`` and its token: the credential parameters."""
        account = await self.account(ip, rate_limit=rate_limit)
        return {"AccountId": account.account_id, "AccessToken": await self.token(account)}

    async def flush_audit(self) -> None:
        await self.server.app[AUDIT].flush()

    def advance_to_tomorrow(self) -> None:
        """Move the node's clock just past the coming midnight (network time zone)."""
        self.clock.advance(self.clock.end_of_day() - self.clock.now() + timedelta(seconds=1))


def recording(
    ctx: NodeContext, calls: list[MethodCall]
) -> Callable[[MethodCall], Awaitable[Answer]]:
    async def resolve(call: MethodCall) -> Answer:
        calls.append(call)
        return await answer_locally(ctx, call)

    return resolve


@pytest.fixture
def node_host() -> str:
    return f"127.0.2.{random.randint(200, 249)}"


@pytest.fixture
def topology(node_host: str) -> Topology:
    return parse_topology(topology_text(node_host, free_port(node_host)))


async def start_node(
    aiohttp_server: Any,
    topology: Topology,
    state_dir: Path,
    *,
    seed: int | None = 7,
    per_node: int = 24,
    events: EventSink | None = None,
    **settings: Any,
) -> AsyncIterator[Node]:
    node_settings = NodeSettings(
        topology=topology,
        node_id=NODE_ID,
        state_dir=state_dir,
        seed=seed,
        per_node=per_node,
        **settings,
    )
    async with (
        Store.open(node_settings.database_path) as store,
        Forwarder(topology, NODE_ID) as forwarder,
    ):
        ctx = NodeContext(
            settings=node_settings,
            store=store,
            clock=Clock(topology.zone),
            events=events or NullEvents(),
        )
        await ready_to_serve(ctx)  # as serve does
        await ensure_seals(ctx, [(ISSUER_NAME, ISSUER)])  # the tests' own issuing authority
        calls: list[MethodCall] = []
        relay = FileRelay(ctx, forwarder)
        app = create_app(ctx, resolver=recording(ctx, calls), file_relay=relay)
        server = await aiohttp_server(app, host=ctx.node.host, port=ctx.node.port)
        node = Node(ctx=ctx, server=server, calls=calls)
        try:
            yield node
        finally:
            for session in node.sessions.values():
                await session.close()
            await server.close()  # the app's cleanup flushes the audit log before the store closes


@pytest.fixture
async def node(aiohttp_server: Any, topology: Topology, tmp_path: Path) -> AsyncIterator[Node]:
    """A seeded city node (``hlj-harbin``) answering locally."""
    async for running in start_node(aiohttp_server, topology, tmp_path):
        yield running
