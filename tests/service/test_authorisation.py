"""Authorisation at one node (§8.1.3, §8.1.4) and my certificates (§8.1.2): a holder authorises
a certificate held here to another holder and withdraws it; what is refused (to oneself, by
someone who is not the holder, of an unknown or cancelled certificate, twice) says why, is
audited and changes nothing; by-holder methods and my certificates honour the grant."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from gateway.core.exchange import grants_topic
from nodes.authorisation.honour import Authorised
from nodes.authorisation.index import publish_grants
from nodes.call import Answer, MethodCall
from nodes.lifecycle import apply
from nodes.model.lifecycle import Transition
from nodes.sharing.local import answer_locally
from nodes.synth.catalogue import RESIDENT_ID
from tests.service.certs import citizen, issue, make_certificate
from tests.service.conftest import Node
from tests.service.test_admin import admin

pytestmark = pytest.mark.asyncio

GRANTEE = {"code": citizen(902), "name": "受托人"}


def grant_body(cert: Any, **changes: Any) -> dict[str, Any]:
    body = {
        "CertificateID": cert.CertificateID,
        "grantor": {"code": cert.CertificateHolderCode, "name": cert.CertificateHolderName},
        "grantee": GRANTEE,
        "reason": "代办",
    }
    return {**body, **changes}


async def grants(node: Node) -> list[dict[str, Any]]:
    status, answer = await admin(node, "GET", "/admin/authorisations")
    assert status == 200
    listed: list[dict[str, Any]] = answer["authorisations"]
    return listed


async def test_a_holder_authorises_and_withdraws(node: Node) -> None:
    cert = make_certificate(901)
    await issue(node.ctx, cert)
    status, grant = await admin(node, "POST", "/admin/authorisations", json=grant_body(cert))
    assert status == 201, grant
    assert (grant["grantee_code"], grant["active"]) == (GRANTEE["code"], True)
    assert [
        e.certificate_id for e in await node.ctx.store.authorisations.granted_to(GRANTEE["code"])
    ] == [cert.CertificateID]
    assert node.ctx.wakeups.grants.is_set()  # the exchange is asked to publish now

    path = f"/admin/authorisations/{grant['id']}/withdraw"
    status, withdrawn = await admin(node, "POST", path, json={"reason": "收回"})
    assert (status, withdrawn["active"], withdrawn["withdraw_reason"]) == (200, False, "收回")
    assert await node.ctx.store.authorisations.granted_to(GRANTEE["code"]) == []
    status, again = await admin(node, "POST", path, json={})
    assert (status, again["reason"]) == (409, "withdrawn")


@pytest.mark.parametrize(
    ("changes", "status", "reason", "says"),
    [
        ({"grantee": "self"}, 400, "self", "cannot authorise a certificate to themself"),
        ({"grantor": {"code": citizen(903), "name": "别人"}}, 403, "not-holder", "does not hold"),
        ({"grantor": {"code": "", "name": "x"}}, 400, "invalid", "grantor code is required"),
        ({"CertificateID": "unknown"}, 404, "unknown", "no certificate unknown"),
    ],
)
async def test_a_refused_authorisation_says_why_is_audited_and_changes_nothing(
    node: Node, changes: dict[str, Any], status: int, reason: str, says: str
) -> None:
    cert = make_certificate(904)
    await issue(node.ctx, cert)
    body = grant_body(cert, **changes)
    if changes.get("grantee") == "self":
        body["grantee"] = body["grantor"]
    answered, refusal = await admin(node, "POST", "/admin/authorisations", json=body)
    assert (answered, refusal["reason"]) == (status, reason)
    assert says in refusal["error"]
    assert await grants(node) == []
    await node.flush_audit()
    (row,) = await node.ctx.store.audit.find(method="admin", limit=1)
    assert (row.status, row.detail.split(":")[0]) == (str(status), "POST /admin/authorisations")
    assert says in row.detail


async def test_a_cancelled_certificate_or_a_second_grant_is_409(node: Node) -> None:
    cert, cancelled = make_certificate(905), make_certificate(906)
    await issue(node.ctx, cert, cancelled)
    await apply(node.ctx, cancelled.CertificateID, Transition.CANCEL, reason="注销")
    status, answer = await admin(node, "POST", "/admin/authorisations", json=grant_body(cancelled))
    assert (status, answer["reason"]) == (409, "unusable")
    assert (await admin(node, "POST", "/admin/authorisations", json=grant_body(cert)))[0] == 201
    status, answer = await admin(node, "POST", "/admin/authorisations", json=grant_body(cert))
    assert (status, answer["reason"]) == (409, "duplicate")
    assert len(await grants(node)) == 1


def by_holder(node: Node, holder: str) -> MethodCall:
    params = {"CertificateHolderCode": holder, "CertificateTypeCode": RESIDENT_ID, "UseFor": "代办"}
    return MethodCall("GetCertificateDataByHolder", params, "app", "127.0.0.9", "r1")


async def test_by_holder_methods_honour_the_grant_until_it_is_withdrawn(node: Node) -> None:
    cert = make_certificate(907)
    await issue(node.ctx, cert)
    resolve = Authorised(partial(answer_locally, node.ctx), node.ctx.store.authorisations)
    before = await resolve(by_holder(node, GRANTEE["code"]))
    assert isinstance(before, Answer)
    assert before.code == 10
    _, grant = await admin(node, "POST", "/admin/authorisations", json=grant_body(cert))
    granted = await resolve(by_holder(node, GRANTEE["code"]))
    assert isinstance(granted, Answer)
    assert granted.code == 0
    assert [i["certificateHolderCode"] for i in granted.data["dataList"]] == [
        cert.CertificateHolderCode
    ]
    own = await resolve(by_holder(node, cert.CertificateHolderCode))  # the holder's own: once
    assert isinstance(own, Answer)
    assert own.data["total"] == "1"
    await admin(node, "POST", f"/admin/authorisations/{grant['id']}/withdraw", json={})
    after = await resolve(by_holder(node, GRANTEE["code"]))
    assert isinstance(after, Answer)
    assert after.code == 10


async def test_my_certificates_lists_what_is_held_and_what_is_authorised(node: Node) -> None:
    mine, theirs = (
        make_certificate(908, holder=902, CertificateHolderName="受托人"),
        make_certificate(909),
    )
    await issue(node.ctx, mine, theirs)
    await admin(node, "POST", "/admin/authorisations", json=grant_body(theirs))
    status, answer = await admin(
        node, "GET", f"/admin/holders/{GRANTEE['code']}/certificates?name=受托人"
    )
    assert status == 200, answer
    assert answer["holder"] == GRANTEE
    assert [i["certificateNumber"] for i in answer["held"]] == [mine.CertificateNumber]
    (authorised,) = answer["authorised"]
    assert (authorised["certificateID"], authorised["status"]) == (theirs.CertificateID, "0")
    assert authorised["grantor"]["name"] == theirs.CertificateHolderName
    status, other = await admin(
        node, "GET", f"/admin/holders/{GRANTEE['code']}/certificates?name=别人"
    )
    assert (other["held"], other["authorised"]) == ([], [])
    assert (await admin(node, "GET", f"/admin/holders/{GRANTEE['code']}/certificates"))[0] == 400


class Published:
    """What the grant loop would send to the broker."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], bool]] = []

    async def publish(self, topic: str, payload: dict[str, Any], *, retain: bool = False) -> None:
        self.messages.append((topic, payload, retain))


async def test_grants_are_published_only_when_there_are_some_or_were_before(node: Node) -> None:
    """431 nodes' empty retained lists, handed to every connecting client, held a China-scale
    network's catalogs back for minutes: a node with no grants says nothing."""
    broker, topic = Published(), grants_topic(node.ctx.topology.network, node.ctx.node_id)
    await publish_grants(node.ctx, broker, topic)  # type: ignore[arg-type]
    assert broker.messages == []
    cert = make_certificate(907)
    await issue(node.ctx, cert)
    status, grant = await admin(node, "POST", "/admin/authorisations", json=grant_body(cert))
    assert status == 201, grant
    await publish_grants(node.ctx, broker, topic)  # type: ignore[arg-type]
    path = f"/admin/authorisations/{grant['id']}/withdraw"
    assert (await admin(node, "POST", path, json={}))[0] == 200
    await publish_grants(node.ctx, broker, topic)  # type: ignore[arg-type]  # the empty list
    await publish_grants(node.ctx, broker, topic)  # type: ignore[arg-type]  # ... once
    sent = [(len(payload["grants"]), retain) for _, payload, retain in broker.messages]
    assert sent == [(1, True), (0, True)]
