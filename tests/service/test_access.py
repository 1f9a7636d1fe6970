"""Accounts, day tokens, IP binding and rate limits (SPEC §4) against a node on a real socket."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gateway.core.topology import Topology
from nodes.http.sharing import ACCESS as ACCESS_KEY
from tests.service.certs import issue, make_certificate
from tests.service.conftest import APP_IP, OTHER_IP, PEER_IP, Node, start_node

TOKEN = re.compile(r"^[0-9A-F]{32}$")
VALID_ID = make_certificate(1).CertificateID


async def by_id(node: Node, credentials: dict[str, str], source: str = APP_IP) -> str:
    cert = make_certificate(1)
    if await node.ctx.store.certificates.get(cert.CertificateID) is None:
        await issue(node.ctx, cert)
    params = {**credentials, "CertificateID": cert.CertificateID, "UseFor": "办理测试"}
    reply = await node.post("GetCertificateDataByCertificateID", data=params, source=source)
    return reply.code


async def test_token_answer_is_appendix_c1_exactly(node: Node) -> None:
    account = await node.account()
    reply = await node.post("token", data={"AccountId": account.account_id})
    token = reply.body["data"]["dataList"]
    assert TOKEN.match(token)
    expected = (
        '{"head":{"message":"接口调用成功","status":"0"},"data":{"total":"","dataList":"'
        + token
        + '"}}'
    ).encode()
    assert reply.raw == expected
    assert reply.status == 200


async def test_token_is_the_same_all_day_on_both_paths(node: Node) -> None:
    account = await node.account()
    first = await node.post("token", data={"AccountId": account.account_id})
    second = await node.post("Token", json={"AccountId": account.account_id})
    assert first.body["data"]["dataList"] == second.body["data"]["dataList"]


async def test_token_path_is_case_sensitive_beyond_token_and_Token(node: Node) -> None:  # noqa: N802
    account = await node.account()
    reply = await node.post("TOKEN", data={"AccountId": account.account_id})
    assert reply.code == "2"


async def test_token_from_another_address_is_14(node: Node) -> None:
    account = await node.account(APP_IP)
    reply = await node.post("token", data={"AccountId": account.account_id}, source=OTHER_IP)
    assert reply.code == "14"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "12"),
        ({"AccountId": ""}, "12"),
        ({"AccountId": "nobody"}, "11"),
        ({"AccountId": 7}, "15"),
    ],
)
async def test_token_refuses_missing_or_unknown_accounts(
    node: Node, params: dict[str, object], code: str
) -> None:
    reply = await node.post("token", json=params)
    assert reply.code == code, reply.body


async def test_the_bound_address_is_enforced_on_every_call(node: Node) -> None:
    credentials = await node.login(APP_IP)
    assert await by_id(node, credentials, source=APP_IP) == "0"
    assert await by_id(node, credentials, source=OTHER_IP) == "14"


async def test_x_forwarded_for_is_not_trusted_by_default(node: Node) -> None:
    credentials = await node.login(APP_IP)
    cert = make_certificate(2)
    await issue(node.ctx, cert)
    params = {**credentials, "CertificateID": cert.CertificateID, "UseFor": "办理测试"}
    reply = await node.post(
        "GetCertificateDataByCertificateID",
        data=params,
        source=OTHER_IP,
        headers={"X-Forwarded-For": APP_IP},
    )
    assert reply.code == "14"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"AccountId": ""}, "12"),
        ({"AccountId": "0123456789abcdef0123456789abcdef"}, "11"),
        ({"AccessToken": ""}, "12"),
        ({"AccessToken": "B76945CD70DE62848CF777C879C2CBCA"}, "11"),
    ],
)
async def test_credentials_are_checked(node: Node, change: dict[str, str], code: str) -> None:
    credentials = await node.login()
    assert await by_id(node, {**credentials, **change}) == code


async def test_a_token_of_another_account_is_11(node: Node) -> None:
    mine = await node.login()
    theirs = await node.login()
    assert await by_id(node, {**mine, "AccessToken": theirs["AccessToken"]}) == "11"


async def test_a_disabled_account_is_11(node: Node) -> None:
    credentials = await node.login()
    assert await by_id(node, credentials) == "0"
    await node.server.app[ACCESS_KEY].disable(credentials["AccountId"])
    assert await by_id(node, credentials) == "11"
    reply = await node.post("token", data={"AccountId": credentials["AccountId"]})
    assert reply.code == "11"


async def test_the_token_ends_at_midnight_and_a_new_one_is_issued(node: Node) -> None:
    account = await node.account()
    yesterday = await node.token(account)
    credentials = {"AccountId": account.account_id, "AccessToken": yesterday}
    assert await by_id(node, credentials) == "0"
    node.advance_to_tomorrow()
    assert await by_id(node, credentials) == "11"
    today = await node.token(account)
    assert today != yesterday
    assert await by_id(node, {**credentials, "AccessToken": today}) == "0"


async def test_rate_limit_answers_16_and_recovers(node: Node) -> None:
    credentials = await node.login(rate_limit=2)
    codes = [await by_id(node, credentials) for _ in range(6)]
    assert codes[0] == "0"
    assert "16" in codes


async def test_peer_accounts_are_not_rate_limited(node: Node) -> None:
    peer = await node.server.app[ACCESS_KEY].account("peer-hlj")
    assert peer is not None
    assert peer.bound_ip == PEER_IP
    credentials = {"AccountId": "peer-hlj", "AccessToken": await node.token(peer)}
    codes = {await by_id(node, credentials, source=PEER_IP) for _ in range(120)}
    assert codes == {"0"}


async def test_only_a_peer_may_assert_route_hops_and_caller(node: Node) -> None:
    headers = {
        "X-Ecert-Route": "national,hlj",
        "X-Ecert-Hops": "3",
        "X-Ecert-Caller": "someone",
        "X-Ecert-Deadline-Ms": "1500",
        "X-Ecert-Explain": "1",
    }
    cert = make_certificate(3)
    await issue(node.ctx, cert)
    params = {"CertificateID": cert.CertificateID, "UseFor": "办理测试"}
    app_credentials = await node.login()
    await node.post(
        "GetCertificateDataByCertificateID", data={**app_credentials, **params}, headers=headers
    )
    from_app = node.calls[-1]
    assert (from_app.came_from, from_app.route_in, from_app.hops) == (None, (), 8)
    assert from_app.caller == app_credentials["AccountId"]
    assert (from_app.deadline_ms, from_app.explain) == (1500, True)
    peer = await node.server.app[ACCESS_KEY].account("peer-hlj")
    assert peer is not None
    peer_credentials = {"AccountId": "peer-hlj", "AccessToken": await node.token(peer)}
    await node.post(
        "GetCertificateDataByCertificateID",
        data={**peer_credentials, **params},
        headers=headers,
        source=PEER_IP,
    )
    from_peer = node.calls[-1]
    assert (from_peer.came_from, from_peer.route_in) == ("hlj", ("national", "hlj"))
    assert from_peer.hops == 3
    assert (from_peer.caller, from_peer.deadline_ms) == ("someone", 1500)


async def test_every_call_is_audited_rejected_ones_too(node: Node) -> None:
    credentials = await node.login()
    assert await by_id(node, credentials) == "0"
    assert await by_id(node, {**credentials, "AccessToken": "WRONG"}) == "11"
    await node.flush_audit()
    rows = await node.ctx.store.audit.recent(3)
    assert [row.status for row in rows[:2]] == ["11", "0"]
    latest = rows[0]
    assert latest.account_id == credentials["AccountId"]
    assert latest.peer_ip == APP_IP
    assert latest.method == "GetCertificateDataByCertificateID"
    assert latest.use_for == "办理测试"
    assert latest.route == node.ctx.node_id
    assert rows[1].caller == credentials["AccountId"]


async def test_behind_a_proxy_x_forwarded_for_names_the_caller(
    aiohttp_server: Any, topology: Topology, tmp_path: Path
) -> None:
    async for node in start_node(
        aiohttp_server, topology, tmp_path, seed=None, trusted_proxies=frozenset({OTHER_IP})
    ):
        token = {"AccountId": (await node.account(APP_IP)).account_id}
        cases = [
            (OTHER_IP, f"10.9.9.9, {APP_IP}", "0"),  # what the proxy saw, right-most
            (OTHER_IP, f"{APP_IP}, 10.9.9.9", "14"),  # the client's own words on the left
            (APP_IP, "127.0.0.77", "0"),  # not from a proxy: the header is ignored
        ]
        for source, forwarded, code in cases:
            headers = {"X-Forwarded-For": forwarded}
            reply = await node.post("token", data=token, source=source, headers=headers)
            assert reply.code == code, (source, forwarded)
        direct = await node.post("token", data=token, source=OTHER_IP)
        assert direct.code == "14"


async def test_a_clean_shutdown_writes_every_queued_audit_row(
    aiohttp_server: Any, topology: Topology, tmp_path: Path
) -> None:
    async for node in start_node(aiohttp_server, topology, tmp_path, seed=None):
        credentials = await node.login()
        for _ in range(450):  # more than one INSERT statement's worth, fewer than a full batch
            await node.post("GetCertificateType", data=credentials)
        await node.server.close()  # the app's cleanup flushes the audit queue
        rows = await node.ctx.store.db.fetchall("SELECT status, method FROM audit_log")
        assert len(rows) == 451  # the Token call and the 450 others
        assert {tuple(row) for row in rows} == {("0", "Token"), ("0", "GetCertificateType")}


async def _peer_credentials(node: Node) -> dict[str, str]:
    peer = await node.server.app[ACCESS_KEY].account("peer-hlj")
    assert peer is not None
    return {"AccountId": "peer-hlj", "AccessToken": await node.token(peer)}


async def test_an_application_call_is_fully_validated_a_peer_call_lightly(node: Node) -> None:
    """The entry node validates an application's parameters; a peer node forwards that result,
    so its call gets a light check (strings, required ones given) and the owner answers 10 for
    an identifier it does not hold rather than 15."""
    cert = make_certificate(4)
    await issue(node.ctx, cert)
    bad_check_character = cert.CertificateID[:-1] + ("0" if cert.CertificateID[-1] != "0" else "1")
    params = {"CertificateID": bad_check_character, "UseFor": "办理测试"}
    method = "GetCertificateDataByCertificateID"
    from_app = await node.post(method, data={**await node.login(), **params})
    assert (from_app.status, from_app.code) == (200, "15")
    assert "CertificateID" in from_app.body["head"]["message"]
    peer = await _peer_credentials(node)
    from_peer = await node.post(method, data={**peer, **params}, source=PEER_IP)
    assert (from_peer.status, from_peer.code) == (200, "10")
    good = await node.post(
        method,
        json={**peer, "CertificateID": f" {cert.CertificateID} ", "UseFor": "办理测试", "x": 1},
        source=PEER_IP,
    )
    assert good.code == "0"
    assert node.calls[-1].params == {
        **peer,
        "CertificateID": cert.CertificateID,
        "UseFor": "办理测试",
    }


@pytest.mark.parametrize(
    ("body", "code", "named"),
    [
        ({"CertificateID": 123, "UseFor": "x"}, "15", "CertificateID"),
        ({"CertificateID": ["a"], "UseFor": "x"}, "15", "CertificateID"),
        ({"CertificateID": "x" * 300, "UseFor": "x"}, "15", "CertificateID"),
        ({"CertificateID": "  ", "UseFor": "x"}, "12", "CertificateID"),
        ({"CertificateID": "AB"}, "12", "UseFor"),
        ({"CertificateID": VALID_ID, "UseFor": {"a": 1}}, "15", "UseFor"),
        ({"CertificateID": VALID_ID, "UseFor": "x", "Format": "doc"}, "15", "Format"),
    ],
)
async def test_malformed_input_from_a_peer_is_12_or_15_never_a_failure(
    node: Node, body: dict[str, Any], code: str, named: str
) -> None:
    method = (
        "GetCertificateFileByCertificateID"
        if "Format" in body
        else "GetCertificateDataByCertificateID"
    )
    reply = await node.post(method, json={**await _peer_credentials(node), **body}, source=PEER_IP)
    assert (reply.status, reply.code) == (200, code)
    assert named in reply.body["head"]["message"]
