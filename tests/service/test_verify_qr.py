"""VerifyQr at one node (§8.4.2): no account needed; a genuine current certificate's token is
"true", a changed character is 15, a cancelled or unknown certificate says so, the caller's
address is rate-limited (16), and every check is in the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodes.lifecycle import apply
from nodes.model.lifecycle import Transition
from nodes.verification.qr import certificate_token
from nodes.verification.token import make_token
from tests.service.certs import issue, make_certificate
from tests.service.conftest import OTHER_IP, Node, start_node

pytestmark = pytest.mark.asyncio


async def check(node: Node, token: str, source: str = OTHER_IP) -> Any:
    return await node.post("VerifyQr", data={"VerificationToken": token}, source=source)


async def test_a_genuine_current_certificate_verifies_without_an_account(node: Node) -> None:
    cert = make_certificate(501)
    await issue(node.ctx, cert)
    reply = await check(node, certificate_token(cert))
    assert reply.code == "0", reply.body
    assert reply.body["data"]["verifyResult"] == "true"
    assert reply.body["data"]["certificateID"] == cert.CertificateID
    assert reply.body["data"]["certificateHolder"] == cert.CertificateHolderName


async def test_a_token_with_one_character_changed_is_15_and_says_so(node: Node) -> None:
    cert = make_certificate(502)
    await issue(node.ctx, cert)
    token = certificate_token(cert)
    forged = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    reply = await check(node, forged)
    assert reply.code == "15"
    assert "altered or mistyped" in reply.body["head"]["message"]
    assert reply.body["data"]["verifyResult"] == "false"


async def test_a_token_made_for_other_data_is_10(node: Node) -> None:
    cert = make_certificate(503)
    await issue(node.ctx, cert)
    other = make_certificate(503, CertificateHolderName="冒名者")
    reply = await check(node, certificate_token(other))
    assert reply.code == "10"
    assert "not the data this token was made for" in reply.body["head"]["message"]


async def test_an_unknown_certificate_is_10(node: Node) -> None:
    reply = await check(node, certificate_token(make_certificate(504)))  # never issued
    assert (reply.code, reply.body["data"]["verifyResult"]) == ("10", "false")


async def test_a_cancelled_certificate_is_21(node: Node) -> None:
    cert = make_certificate(505)
    await issue(node.ctx, cert)
    token = certificate_token(cert)
    await apply(node.ctx, cert.CertificateID, Transition.CANCEL, reason="持证人申请注销")
    reply = await check(node, token)
    assert (reply.code, reply.body["data"]["verifyResult"]) == ("21", "false")


async def test_a_missing_token_is_12_and_get_is_405(node: Node) -> None:
    assert (await node.post("VerifyQr", data={}, source=OTHER_IP)).code == "12"
    reply = await node.post("VerifyQr", source=OTHER_IP, http_method="GET")
    assert reply.status == 405


async def test_each_address_is_rate_limited_apart(
    aiohttp_server: Any, topology: Any, tmp_path: Path
) -> None:
    # one check, then one more each 100 s: no refill can happen while the test runs
    async for node in start_node(aiohttp_server, topology, tmp_path, qr_rate_limit=0.01):
        token = make_token(make_certificate(506).CertificateID, {})
        codes = [(await check(node, token)).code for _ in range(3)]
        assert codes == ["10", "16", "16"]
        assert (await check(node, token, source="127.0.2.250")).code == "10"


async def test_every_check_is_audited_with_the_certificate_asked_about(node: Node) -> None:
    cert = make_certificate(507)
    await issue(node.ctx, cert)
    await check(node, certificate_token(cert))
    await check(node, "NOTATOKEN")
    await node.flush_audit()
    rows = await node.ctx.store.audit.find(method="VerifyQr", limit=10)
    assert sorted(row.status for row in rows) == ["0", "15"]
    assert {row.peer_ip for row in rows} == {OTHER_IP}
    assert cert.CertificateID in {row.detail for row in rows}
