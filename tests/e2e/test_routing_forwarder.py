"""The forwarder against small real aiohttp servers standing in for a neighbour node."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from gateway.core.errors import ForwardError, NeighbourRejected, NeighbourUnreachable
from gateway.core.forwarder import Forwarder
from gateway.core.protocol import ReturnCode, dumps, envelope, list_data, loads
from gateway.core.topology import Topology
from tests.brokers import free_port

OWN_HOST = "127.0.4.21"
NEIGHBOUR_HOST = "127.0.4.20"


@dataclass
class Neighbour:
    """A stand-in for the parent node: Token, one method, one file, and a record of requests."""

    host: str
    port: int = 0
    tokens: list[str] = field(default_factory=lambda: ["A" * 32])
    token_requests: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/ecert/token", self.token)
        app.router.add_get("/ecert/file{token}.ofd", self.file)
        app.router.add_post("/ecert/Broken", self.broken)
        app.router.add_post("/ecert/{method}", self.method)
        return app

    async def token(self, request: web.Request) -> web.Response:
        body = loads(await request.read())
        self.token_requests += 1
        if body.get("AccountId") != "peer-hlj-harbin" or request.remote != OWN_HOST:
            return web.json_response(envelope(ReturnCode.AUTH_FAILED))
        return web.json_response(
            envelope(ReturnCode.SUCCESS, {"total": "", "dataList": self.tokens[-1]})
        )

    async def method(self, request: web.Request) -> web.Response:
        body = loads(await request.read())
        self.calls.append(
            {"remote": request.remote, "body": body, "headers": dict(request.headers)}
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if body.get("AccessToken") != self.tokens[-1]:
            return web.json_response(envelope(ReturnCode.AUTH_FAILED))
        headers = {
            "X-Ecert-Route": "hlj,national,jl,jl-changchun",
            "Server-Timing": "hlj;dur=3.50, national;dur=2.25, jl;dur=1.5, jl-changchun;dur=0.75",
        }
        data = list_data([{"certificateNumber": body.get("CertificateID", "")}])
        return web.Response(
            body=dumps(envelope(ReturnCode.SUCCESS, data)),
            headers=headers,
            content_type="application/json",
        )

    async def broken(self, request: web.Request) -> web.Response:
        return web.Response(text="<html>proxy error</html>", status=502)

    async def file(self, request: web.Request) -> web.Response:
        return web.Response(body=b"OFD-BYTES", content_type="application/ofd")

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app())
        await self.runner.setup()
        self.port = self.port or free_port(self.host)
        await web.TCPSite(self.runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


def topology_for(neighbour: Neighbour) -> Topology:
    return Topology.model_validate(
        {
            "network": "fwd",
            "nodes": [
                {
                    "id": "national",
                    "tier": "national",
                    "name": "n",
                    "host": "127.0.4.10",
                    "port": 1,
                },
                {
                    "id": "hlj",
                    "tier": "province",
                    "parent": "national",
                    "name": "hlj",
                    "host": neighbour.host,
                    "port": neighbour.port,
                },
                {
                    "id": "hlj-harbin",
                    "tier": "city",
                    "parent": "hlj",
                    "name": "harbin",
                    "host": OWN_HOST,
                    "port": 2,
                },
            ],
        }
    )


@pytest.fixture
async def neighbour() -> AsyncIterator[Neighbour]:
    server = Neighbour(NEIGHBOUR_HOST)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def forward(forwarder: Forwarder, *, deadline_ms: float = 2000, hops: int = 7) -> Any:
    return await forwarder.forward(
        "hlj",
        "GetCertificateDataByCertificateID",
        {"CertificateID": "X1", "UseFor": "test", "AccountId": "app-1", "AccessToken": "B" * 32},
        request_id="r1",
        route=["hlj-harbin"],
        hops=hops,
        deadline_ms=deadline_ms,
        caller="app-1@127.0.9.1",
    )


async def test_a_forward_carries_our_credentials_from_our_address_and_the_trace_headers(
    neighbour: Neighbour,
) -> None:
    async with Forwarder(topology_for(neighbour), "hlj-harbin") as forwarder:
        reply = await forward(forwarder)
    assert reply.status == 0
    assert reply.data["dataList"] == [{"certificateNumber": "X1"}]
    assert reply.route == ["hlj", "national", "jl", "jl-changchun"]
    assert reply.timings == [("hlj", 3.5), ("national", 2.25), ("jl", 1.5), ("jl-changchun", 0.75)]
    (call,) = neighbour.calls
    assert call["remote"] == OWN_HOST
    assert call["body"] == {
        "CertificateID": "X1",
        "UseFor": "test",
        "AccountId": "peer-hlj-harbin",
        "AccessToken": "A" * 32,
    }
    headers = call["headers"]
    assert headers["X-Ecert-Request-Id"] == "r1"
    assert headers["X-Ecert-Route"] == "hlj-harbin"
    assert headers["X-Ecert-Hops"] == "7"
    assert headers["X-Ecert-Caller"] == "app-1@127.0.9.1"
    assert 0 < int(headers["X-Ecert-Deadline-Ms"]) <= 2000
    assert "X-Ecert-Explain" not in headers


async def test_the_token_is_fetched_once_and_shared_by_concurrent_forwards(
    neighbour: Neighbour,
) -> None:
    async with Forwarder(topology_for(neighbour), "hlj-harbin") as forwarder:
        replies = await asyncio.gather(*(forward(forwarder) for _ in range(20)))
        await forward(forwarder)
    assert all(reply.status == 0 for reply in replies)
    assert neighbour.token_requests == 1
    assert len(neighbour.calls) == 21


async def test_a_rejected_token_is_renewed_once_and_the_call_retried(neighbour: Neighbour) -> None:
    async with Forwarder(topology_for(neighbour), "hlj-harbin") as forwarder:
        await forward(forwarder)
        neighbour.tokens.append("C" * 32)  # a new day: the old token is refused
        reply = await forward(forwarder)
    assert reply.status == 0
    assert neighbour.token_requests == 2
    assert [call["body"]["AccessToken"] for call in neighbour.calls] == [
        "A" * 32,
        "A" * 32,
        "C" * 32,
    ]


async def test_credentials_refused_even_with_a_fresh_token_raise_rejected(
    neighbour: Neighbour,
) -> None:
    topology = topology_for(neighbour)
    async with Forwarder(topology, "hlj-harbin") as forwarder:
        forwarder.account_id = "peer-somebody-else"
        with pytest.raises(NeighbourRejected) as caught:
            await forward(forwarder)
    assert caught.value.status == "11"
    assert caught.value.node_id == "hlj"


async def test_a_neighbour_that_is_down_is_unreachable_quickly() -> None:
    down = Neighbour(NEIGHBOUR_HOST, port=free_port(NEIGHBOUR_HOST))  # never started
    async with Forwarder(topology_for(down), "hlj-harbin") as forwarder:
        started = time.monotonic()
        with pytest.raises(NeighbourUnreachable) as caught:
            await forward(forwarder, deadline_ms=2000)
    assert caught.value.node_id == "hlj"
    assert time.monotonic() - started < 1.5  # bounded retries, not the whole deadline


async def test_a_neighbour_that_hangs_is_unreachable_at_the_deadline(neighbour: Neighbour) -> None:
    neighbour.delay = 1.0
    async with Forwarder(topology_for(neighbour), "hlj-harbin") as forwarder:
        started = time.monotonic()
        with pytest.raises(NeighbourUnreachable, match="no answer within 300 ms"):
            await forward(forwarder, deadline_ms=300)
    assert 0.25 < time.monotonic() - started < 1.5


async def test_a_restarted_neighbour_is_reached_again_on_a_pooled_connection(
    neighbour: Neighbour,
) -> None:
    async with Forwarder(topology_for(neighbour), "hlj-harbin") as forwarder:
        assert (await forward(forwarder)).status == 0
        await neighbour.stop()
        await neighbour.start()  # same port; the pooled keep-alive connection is dead
        assert (await forward(forwarder)).status == 0


async def test_only_neighbours_are_called(neighbour: Neighbour) -> None:
    topology = topology_for(neighbour)
    async with Forwarder(topology, "hlj-harbin") as forwarder:
        with pytest.raises(ForwardError, match="not a neighbour"):
            await forwarder.forward(
                "national",
                "Retrieval",
                {},
                request_id="r",
                route=[],
                hops=1,
                deadline_ms=100,
                caller="",
            )


async def test_explain_is_forwarded_as_a_header(neighbour: Neighbour) -> None:
    async with Forwarder(topology_for(neighbour), "hlj-harbin") as forwarder:
        await forwarder.forward(
            "hlj",
            "Retrieval",
            {"UseFor": "x"},
            request_id="r",
            route=["hlj-harbin"],
            hops=3,
            deadline_ms=500,
            caller="",
            explain=True,
        )
    assert neighbour.calls[0]["headers"]["X-Ecert-Explain"] == "1"


async def test_a_file_is_fetched_with_its_content_type(neighbour: Neighbour) -> None:
    async with Forwarder(topology_for(neighbour), "hlj-harbin") as forwarder:
        fetched = await forwarder.fetch_file(
            f"http://{neighbour.host}:{neighbour.port}/ecert/file{'A' * 32}.ofd",
            node_id="hlj",
            deadline_ms=1000,
        )
    assert (fetched.status, fetched.body, fetched.content_type) == (
        200,
        b"OFD-BYTES",
        "application/ofd",
    )


async def test_a_malformed_answer_is_a_forward_error(neighbour: Neighbour) -> None:
    async with Forwarder(topology_for(neighbour), "hlj-harbin") as forwarder:
        with pytest.raises(ForwardError, match="not an envelope"):
            await forwarder.forward(
                "hlj", "Broken", {}, request_id="r", route=[], hops=1, deadline_ms=500, caller=""
            )
