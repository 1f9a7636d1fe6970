"""The node's endpoint under the limits of ``nodes.http.listener`` (issue #13, finding 3 and 6):
a connection cap per address, a deadline for a request's head and body, parser rejections as
envelopes. Raw sockets against the real listener on a free port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import pytest
from aiohttp import web

from nodes.http.listener import ConnectionLimits, head_met, listen
from nodes.http.middleware import RequestIds

HOST = "127.0.0.1"
WITHIN = 10.0  # how long a test waits for an answer before it fails


async def _ok(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"code": "0"})


class Endpoint:
    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(HOST, self.port)
        self.writers.append(writer)
        return reader, writer


@asynccontextmanager
async def endpoint(limits: ConnectionLimits) -> AsyncIterator[Endpoint]:
    app = web.Application(middlewares=[head_met])
    app.router.add_post("/ok", _ok)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    server = await listen(
        runner, HOST, 0, node_id="hlj-harbin", limits=limits, request_ids=RequestIds()
    )
    opened = Endpoint(server.sockets[0].getsockname()[1])
    try:
        yield opened
    finally:
        for writer in opened.writers:
            writer.close()
            await writer.wait_closed()
        server.close()
        await runner.cleanup()


def request(body: bytes = b"{}") -> bytes:
    return b"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def answer(reader: asyncio.StreamReader) -> tuple[str, dict[str, object]]:
    """One response: its head and its JSON body."""
    async with asyncio.timeout(WITHIN):
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
        return head, orjson.loads(await reader.readexactly(length))


async def closed(reader: asyncio.StreamReader) -> bool:
    async with asyncio.timeout(WITHIN):
        return await reader.read() == b""


async def test_one_connection_over_the_cap_is_refused_with_code_16() -> None:
    async with endpoint(ConnectionLimits(per_address=3)) as node:
        held = [await node.connect() for _ in range(3)]
        for reader, writer in held:  # each admitted and kept alive
            writer.write(request())
            assert (await answer(reader))[1] == {"code": "0"}
        reader, writer = await node.connect()
        head, body = await answer(reader)
        assert head.startswith("HTTP/1.1 503")
        assert body["head"] == {
            "status": "16",
            "message": "请求过于频繁: more than 3 open connections from 127.0.0.1",
        }
        assert await closed(reader)

        held.pop()[1].close()  # one goes away: a new one is served again
        async with asyncio.timeout(WITHIN):
            while True:
                reader, writer = await node.connect()
                writer.write(request())
                head, body = await answer(reader)
                if head.startswith("HTTP/1.1 200"):
                    break


async def test_a_head_that_does_not_arrive_in_time_closes_the_connection() -> None:
    async with endpoint(ConnectionLimits(head_within=0.2)) as node:
        reader, writer = await node.connect()
        writer.write(b"POST /ok HTTP/1.1\r\nHost: x\r\n")  # ... and the rest never comes
        assert await closed(reader)


async def test_the_head_deadline_does_not_cut_a_body_still_coming() -> None:
    async with endpoint(ConnectionLimits(head_within=0.5)) as node:
        reader, writer = await node.connect()
        writer.write(b"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{")
        await asyncio.sleep(1.5)  # three head deadlines pass while the body is on its way
        writer.write(b"}")
        assert (await answer(reader))[1] == {"code": "0"}
        writer.write(request())  # the connection still serves the next one
        assert (await answer(reader))[1] == {"code": "0"}


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n",
        b"POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["10KB-path", "20KB-header", "bad-chunking"],
)
async def test_a_request_the_parser_refuses_is_answered_with_an_envelope(
    raw: bytes,
) -> None:
    async with endpoint(ConnectionLimits()) as node:
        reader, writer = await node.connect()
        writer.write(raw)
        head, body = await answer(reader)
    assert head.split("\r\n")[0].split(" ")[1] == "400"
    assert "application/json" in head
    assert "x-ecert-request-id:" in head.lower()
    head_of_envelope = body["head"]
    assert isinstance(head_of_envelope, dict)
    assert head_of_envelope["status"] == "15"
    assert "the request cannot be read" in head_of_envelope["message"]
