"""E-seals (README "Seals"): every authority issuing at a node has an SM2 key pair and a seal
record; every certificate written is sealed; VerifyCertificate checks the seal signature and says
why a certificate fails, in the answer and the audit log."""

from __future__ import annotations

import base64
import json
import stat
from typing import Any

import orjson
from gmssl_pyx import sm2_sign, sm2_verify

from nodes.issuing import record_changes
from nodes.model.catalog import operation_for
from nodes.model.certificate import Certificate
from nodes.seals.exchange import merge_seals
from nodes.seals.keys import read_private_key
from nodes.synth.ids import authority_uscc
from nodes.synth.issuers import issuers_of
from tests.service.certs import ISSUER, make_certificate
from tests.service.conftest import Node
from tests.service.test_admin import admin
from tests.service.test_audit_read import audit
from tests.service.test_verify_and_index import table_11, verify

UNSEALED_AUTHORITY = authority_uscc("230100", "77000099")  # no seal at the test node


def canonical(record: dict[str, Any]) -> bytes:
    """The canonical data as README "Seals" documents it, written here with the json module."""
    names = [
        "CertificateID", "CertificateName", "CertificateTypeName", "CertificateTypeCode",
        "RelatedItemName", "RelatedItemCode", "CertificateIssuingAuthorityName",
        "CertificateIssuingAuthorityCode", "CertificateAreaCode", "CertificateHolderName",
        "CertificateHolderCode", "CertificateHolderTypeCode", "CertificateNumber",
        "CertificateIssuedDate", "CertificateEffectiveDate", "CertificateExpiringDate",
        "CertificateStatus", "CertificateStatusChangeReason", "CertificateStatusChangeTime",
        "surface", "detail", "CertificateSealID",
    ]  # fmt: skip
    items = {name: record[name] for name in names}
    return json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


async def seal_of(node: Node, seal_id: str) -> dict[str, Any]:
    status, seals = await admin(node, "GET", "/admin/seals")
    assert status == 200
    found: dict[str, Any] = next(seal for seal in seals if seal["SealID"] == seal_id)
    return found


async def stored(node: Node, certificate_id: str) -> dict[str, Any]:
    record = await node.ctx.store.certificates.record_now(certificate_id)
    assert record is not None
    found: dict[str, Any] = orjson.loads(record)
    return found


async def store_as_is(node: Node, record: dict[str, Any]) -> None:
    """Write a record straight into the store, unsealed (a forger with database access)."""
    cert = Certificate.model_validate(record)
    async with node.ctx.store.transaction() as tx:
        await node.ctx.store.certificates.save(tx, cert, now=node.ctx.clock.stamp())


def signs(public_key_hex: str, record: dict[str, Any]) -> bool:
    signature = base64.b64decode(record["CertificateSignature"])
    return bool(sm2_verify(bytes.fromhex(public_key_hex), canonical(record), signature))


async def test_a_seeded_node_has_a_seal_per_authority_with_its_key_private(node: Node) -> None:
    status, seals = await admin(node, "GET", f"/admin/seals?node={node.ctx.node_id}")
    assert status == 200
    codes = {seal["CertificateIssuingAuthorityCode"] for seal in seals}
    assert {issuer.code for issuer in issuers_of(node.ctx.node)} <= codes
    for seal in seals:
        assert set(seal) == {
            "SealID", "SealName", "CertificateIssuingAuthorityName",
            "CertificateIssuingAuthorityCode", "publicKey", "validFrom", "validTo", "node",
        }  # fmt: skip
        path = node.ctx.settings.node_dir / "seals" / f"{seal['SealID']}.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.read_text().strip() not in json.dumps(seals)


async def test_the_admin_api_creates_a_seal_and_refuses_bad_ones(node: Node) -> None:
    body = {
        "CertificateIssuingAuthorityName": "哈尔滨市测试局",
        "CertificateIssuingAuthorityCode": UNSEALED_AUTHORITY,
    }
    status, seal = await admin(node, "POST", "/admin/seals", json=body)
    assert status == 201, seal
    assert seal["SealID"] == f"ES{UNSEALED_AUTHORITY}01"
    assert seal["SealName"] == "哈尔滨市测试局电子印章"
    assert len(bytes.fromhex(seal["publicKey"])) == 64
    status, again = await admin(node, "POST", "/admin/seals", json=body)
    assert (status, again["SealID"]) == (201, f"ES{UNSEALED_AUTHORITY}02")
    for bad, why in (
        ({**body, "CertificateIssuingAuthorityCode": "123"}, "GB 32100"),
        ({**body, "validTo": "2000-01-01"}, "validTo is before validFrom"),
        ({**body, "privateKey": "00"}, "unknown fields"),
        ({"CertificateIssuingAuthorityName": "x"}, "required"),
    ):
        status, answer = await admin(node, "POST", "/admin/seals", json=bad)
        assert status == 400, answer
        assert why in answer["error"]


async def test_issue_seals_the_canonical_data_with_the_authority_key(node: Node) -> None:
    cert = make_certificate(300)
    status, issued = await admin(node, "POST", "/admin/certificates", json=cert.to_record())
    assert status == 200, issued
    seal = await seal_of(node, issued["CertificateSealID"])
    assert seal["CertificateIssuingAuthorityCode"] == ISSUER
    assert signs(seal["publicKey"], issued)  # with GmSSL's own SM2/SM3, not the product's code
    assert issued == await stored(node, cert.CertificateID)


async def test_every_change_is_sealed_again(node: Node) -> None:
    cert = make_certificate(301)
    await admin(node, "POST", "/admin/certificates", json=cert.to_record())
    path = f"/admin/certificates/{cert.CertificateID}"
    body = {"reason": "住址变更", "fields": {"CertificateHolderName": "新名字"}}
    status, changed = await admin(node, "POST", f"{path}/change", json=body)
    assert status == 200, changed
    new, old = changed["certificate"], changed["previous"]
    seal = await seal_of(node, new["CertificateSealID"])
    assert (new["CertificateHolderName"], old["CertificateStatus"]) == ("新名字", "02")
    assert signs(seal["publicKey"], new)
    assert signs(seal["publicKey"], old)  # the cancelled old version, re-sealed at 02


async def test_issuing_for_an_authority_without_a_seal_is_refused_and_audited(node: Node) -> None:
    record = make_certificate(302).to_record()
    record.update(CertificateIssuingAuthorityCode=UNSEALED_AUTHORITY, CertificateID="")
    before = await node.ctx.store.certificates.count()
    status, answer = await admin(node, "POST", "/admin/certificates", json=record)
    assert status == 409
    assert f"({UNSEALED_AUTHORITY}) has no valid seal at {node.ctx.node_id}" in answer["error"]
    rows = await audit(node, "method=admin")
    assert rows[0]["status"] == "409"
    assert "no valid seal" in rows[0]["detail"]
    assert await node.ctx.store.certificates.count() == before  # nothing written


async def verify_stored(node: Node, serial: int) -> dict[str, str]:
    creds = await node.login()
    cert = make_certificate(serial, holder=serial)
    reply = await verify(node, creds, table_11(serial), cert_id=cert.CertificateID)
    assert reply.code == "0", reply.body
    data: dict[str, str] = reply.body["data"]
    return data


async def issue_sealed(node: Node, serial: int) -> dict[str, Any]:
    cert = make_certificate(serial, holder=serial)
    await record_changes(node.ctx, [(cert, operation_for(cert, new=True))])
    return await stored(node, cert.CertificateID)


async def test_verify_is_true_for_a_sealed_certificate(node: Node) -> None:
    await issue_sealed(node, 310)
    assert await verify_stored(node, 310) == {"verifyResult": "true"}


async def test_tampered_data_fails_verification_with_a_reason_in_the_audit_log(
    node: Node,
) -> None:
    record = await issue_sealed(node, 311)
    await store_as_is(node, {**record, "CertificateExpiringDate": "2045-01-01", "surface": []})
    data = await verify_stored(node, 311)
    assert data["verifyResult"] == "false"
    assert data["verifyMessage"].startswith("SIGNATURE_INVALID: the signature of seal")
    rows = await audit(node, "method=VerifyCertificate")
    assert rows[0]["detail"] == data["verifyMessage"]


async def test_a_signature_by_another_authoritys_key_fails(node: Node) -> None:
    record = await issue_sealed(node, 312)
    other = next(
        s for s in await node.ctx.store.seals.all() if s.CertificateIssuingAuthorityCode != ISSUER
    )
    key = read_private_key(node.ctx.settings.node_dir, other.SealID)
    forged = sm2_sign(key, other.public_key, canonical(record))  # its own seal ID kept
    await store_as_is(node, {**record, "CertificateSignature": base64.b64encode(forged).decode()})
    data = await verify_stored(node, 312)
    assert data["verifyMessage"].startswith("SIGNATURE_INVALID: ")
    # the same forgery naming the other authority's seal is caught by the seal's owner
    named = {**record, "CertificateSealID": other.SealID}
    forged = sm2_sign(key, other.public_key, canonical(named))
    await store_as_is(node, {**named, "CertificateSignature": base64.b64encode(forged).decode()})
    data = await verify_stored(node, 312)
    assert data["verifyResult"] == "false"
    assert data["verifyMessage"].startswith(
        f"SEAL_OF_ANOTHER_AUTHORITY: seal {other.SealID} belongs to"
    )


async def test_a_certificate_of_an_authority_without_a_seal_here_fails(node: Node) -> None:
    record = await issue_sealed(node, 313)
    claimed = {**record, "CertificateIssuingAuthorityCode": UNSEALED_AUTHORITY}
    claimed["CertificateSealID"] = f"ES{UNSEALED_AUTHORITY}01"
    await store_as_is(node, claimed)
    creds = await node.login()
    data = table_11(313, issueDeptCode=UNSEALED_AUTHORITY)
    reply = await verify(node, creds, data, cert_id=record["CertificateID"])
    assert reply.body["data"]["verifyResult"] == "false"
    assert reply.body["data"]["verifyMessage"] == (
        f"NO_SEAL_FOR_AUTHORITY: the issuing authority {UNSEALED_AUTHORITY} has no seal at"
        f" {node.ctx.node_id}"
    )
    await store_as_is(node, {**record, "CertificateSealID": "", "CertificateSignature": ""})
    data = await verify_stored(node, 313)
    assert data["verifyMessage"].startswith("UNSEALED: ")


async def test_a_parent_takes_seals_only_from_the_pushing_childs_subtree(node: Node) -> None:
    """merge_seals as a parent runs it on a types message (here the node merges as if
    ``hlj-harbin`` were its child: its subtree is itself)."""
    ctx = node.ctx
    mine = (await ctx.store.seals.all(node=ctx.node_id))[0]
    fresh = {**mine.to_record(), "SealID": f"ES{UNSEALED_AUTHORITY}01"}
    fresh["CertificateIssuingAuthorityCode"] = UNSEALED_AUTHORITY
    outside = {**fresh, "SealID": f"ES{UNSEALED_AUTHORITY}02", "node": "hlj"}
    taken_over = {**mine.to_record(), "node": "hlj"}  # the same SealID, another holder
    broken = {**fresh, "SealID": "ES1"}
    assert await merge_seals(ctx, [fresh, outside, broken], child="hlj-harbin") == 1
    assert await merge_seals(ctx, [fresh], child="hlj-harbin") == 0  # nothing new: no rewrite
    assert await merge_seals(ctx, [taken_over], child="hlj") == 0
    assert (await ctx.store.seals.get(mine.SealID)) == mine
    assert await ctx.store.seals.get(f"ES{UNSEALED_AUTHORITY}02") is None
