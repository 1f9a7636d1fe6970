"""What an attacker on the same machine tried (issue #13): every answer an envelope with the spec's
code, nothing unbounded stored, no early-readable body left waiting."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.core.links import HEADER_LINK_SIGNATURE, link_key, sign
from gateway.core.topology import Topology
from nodes.http.sharing import ACCESS
from nodes.store.audit import AuditRecord
from tests.service.conftest import APP_IP, NODE_ID, OTHER_IP, PEER_IP, Node, start_node

USE_FOR = "审批"


@pytest.fixture
async def creds(node: Node) -> dict[str, str]:
    return await node.login()


async def raw_exchange(node: Node, request: bytes, *, source: str = APP_IP) -> bytes:
    """Send ``request`` bytes as they are and read what comes back until the node closes."""
    reader, writer = await asyncio.open_connection(
        node.ctx.node.host, node.server.port, local_addr=(source, 0)
    )
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read(65536)
    finally:
        writer.close()


def envelope_of(answer: bytes) -> tuple[str, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.decode("latin-1"), orjson.loads(body)


@pytest.mark.parametrize("verb", ["PUT", "TRACE", "GET", "DELETE"])
async def test_a_method_called_without_post_is_405_with_allow(node: Node, verb: str) -> None:
    reply = await node.post("GetCertificateType", http_method=verb)
    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"
    assert reply.code == "2"


async def test_a_body_marked_gzip_that_is_not_is_15(node: Node, creds: dict[str, str]) -> None:
    body = orjson.dumps({**creds, "UseFor": USE_FOR})
    reply = await node.post(
        "GetCertificateType",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert (reply.status, reply.code) == (200, "15")
    assert "Traceback" not in reply.raw.decode()
    compressed = await node.post(
        "GetCertificateType",
        data=gzip.compress(body),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert compressed.code == "0", compressed.body


async def test_a_huge_content_length_is_answered_413_before_the_body(node: Node) -> None:
    request = (
        f"POST {node.ctx.topology.path}/GetCertificateType HTTP/1.1\r\n"
        f"Host: {node.ctx.node.host}\r\nContent-Type: application/json\r\n"
        "Content-Length: 99999999999\r\n\r\n"
    ).encode()
    head, body = envelope_of(await raw_exchange(node, request))
    assert head.startswith("HTTP/1.1 413")
    assert body["head"] == {"status": "15", "message": body["head"]["message"]}  # type: ignore[index]
    assert "1 MiB" in str(body["head"])


async def test_expect_100_continue_with_a_big_body_is_refused_without_continue(node: Node) -> None:
    request = (
        f"POST {node.ctx.topology.path}/GetCertificateType HTTP/1.1\r\n"
        f"Host: {node.ctx.node.host}\r\nContent-Type: application/json\r\n"
        "Expect: 100-continue\r\nContent-Length: 10485760\r\n\r\n"
    ).encode()
    answer = await raw_exchange(node, request)
    assert not answer.startswith(b"HTTP/1.1 100")
    head, body = envelope_of(answer)
    assert head.startswith("HTTP/1.1 413")
    assert body["head"]["status"] == "15"  # type: ignore[index]


async def test_a_huge_account_id_is_15_and_is_not_stored_whole(node: Node) -> None:
    reply = await node.post("token", data={"AccountId": "A" * (1024 * 1024 - 100)}, source=OTHER_IP)
    assert reply.code == "15"
    await node.flush_audit()
    (row,) = [r for r in await node.ctx.store.audit.recent(5) if r.method == "Token"]
    assert len(row.account_id) <= 80


async def test_duplicate_json_keys_are_15_as_duplicate_form_fields(node: Node) -> None:
    body = b'{"AccountId": "a", "AccountId": "b"}'
    reply = await node.post("token", data=body, headers={"Content-Type": "application/json"})
    assert reply.code == "15"
    assert "AccountId" in reply.body["head"]["message"]


async def test_token_is_rate_limited_per_account(node: Node) -> None:
    account = await node.account(rate_limit=2)
    codes = [
        (await node.post("token", data={"AccountId": account.account_id})).code for _ in range(8)
    ]
    assert codes[0] == "0"
    assert "16" in codes


async def test_token_is_rate_limited_per_address_for_unknown_accounts(node: Node) -> None:
    codes = [
        (await node.post("token", data={"AccountId": f"nobody{i}"}, source=OTHER_IP)).code
        for i in range(60)
    ]
    assert codes[0] == "11"
    assert "16" in codes


async def test_a_client_gone_mid_body_is_not_an_error(node: Node, creds: dict[str, str]) -> None:
    request = (
        f"POST {node.ctx.topology.path}/GetCertificateType HTTP/1.1\r\n"
        f"Host: {node.ctx.node.host}\r\nContent-Type: application/json\r\n"
        'Content-Length: 5000\r\n\r\n{"AccountId": '
    ).encode()
    _, writer = await asyncio.open_connection(
        node.ctx.node.host, node.server.port, local_addr=(APP_IP, 0)
    )
    writer.write(request)
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    rows: list[AuditRecord] = []
    async with asyncio.timeout(20):  # until the handler notices the caller is gone and audits
        while not rows:
            await node.flush_audit()
            recent = await node.ctx.store.audit.recent(5)
            rows = [r for r in recent if r.method == "GetCertificateType"]
            await asyncio.sleep(0.01)
    assert rows[0].status == "15"


async def test_a_duplicate_key_hidden_by_an_escape_is_15_too(node: Node) -> None:
    body = b'{"AccountId": "a", "\\u0041ccountId": "b"}'
    reply = await node.post("token", data=body, headers={"Content-Type": "application/json"})
    assert reply.code == "15"


async def test_a_peer_account_without_the_link_signature_is_refused(
    aiohttp_server: Any, topology: Topology, tmp_path: Path
) -> None:
    key = link_key(b"s" * 32, "hlj", NODE_ID)
    async for node in start_node(
        aiohttp_server, topology, tmp_path, seed=None, link_keys={"hlj": key}
    ):
        peer = await node.server.app[ACCESS].account("peer-hlj")
        assert peer is not None
        # an application on the parent's address can get the peer account's token...
        token = await node.token(peer, source=PEER_IP)
        body = orjson.dumps({"AccountId": "peer-hlj", "AccessToken": token})
        headers = {"Content-Type": "application/json", "X-Ecert-Hops": "64"}
        unsigned = await node.post("GetCertificateType", data=body, headers=headers, source=PEER_IP)
        assert unsigned.code == "11"  # ...but cannot sign as the parent
        assert "link signature" in unsigned.body["head"]["message"]
        headers[HEADER_LINK_SIGNATURE] = sign(key, "GetCertificateType", headers, body)
        signed = await node.post("GetCertificateType", data=body, headers=headers, source=PEER_IP)
        assert signed.code == "0"


async def test_a_body_that_does_not_arrive_in_time_is_15_and_closes(
    aiohttp_server: Any, topology: Topology, tmp_path: Path
) -> None:
    request = (
        f"POST {topology.path}/GetCertificateType HTTP/1.1\r\n"
        "Host: x\r\nContent-Type: application/json\r\n"
        'Content-Length: 5000\r\n\r\n{"AccountId": '  # ... and the rest never comes
    ).encode()
    async for slow in start_node(aiohttp_server, topology, tmp_path, body_within=0.2):
        head, body = envelope_of(await raw_exchange(slow, request))
        assert head.startswith("HTTP/1.1 408")
        assert body["head"] == {
            "status": "15",
            "message": "参数值不符合规范: body: not received within 0.2 s",
        }
