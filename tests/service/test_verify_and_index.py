"""VerifyCertificate, GetCertificateType and Retrieval answered by one node, with their codes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from nodes.model.codes import CdOperation
from nodes.sharing.items import RETRIEVAL_ITEM_KEYS
from nodes.synth.catalogue import BUSINESS_LICENCE, CATALOGUE, RESIDENT_ID
from tests.service.certs import citizen, issue, make_certificate
from tests.service.conftest import Node

USE_FOR = "办理户籍业务"
UNPUBLISHED_TYPE = "11100000000013127D999"  # well-formed (A.4), but nobody defined it
TABLE_18 = {
    "CertificateTypeName",
    "CertificateTypeCode",
    "CertificateDefineAuthorityName",
    "CertificateDefineAuthorityCode",
    "CertificateDefineAuthorityLevel",
    "RelatedItemName",
    "RelatedItemCode",
    "CertificateHolderCategory",
    "ValidityRange",
    "CertificateIssuingAuthorityLevel",
}


@pytest.fixture
async def creds(node: Node) -> dict[str, str]:
    return await node.login()


async def call(node: Node, creds: dict[str, str], method: str, **params: Any) -> Any:
    return await node.post(method, data={**creds, **params})


# -- VerifyCertificate -----------------------------------------------------------------------------
def table_11(cert_serial: int, **changes: str) -> dict[str, str]:
    cert = make_certificate(cert_serial, holder=cert_serial)
    data = {
        "certificateType": cert.CertificateTypeName,
        "certificateName": cert.CertificateName,
        "certificateHolder": cert.CertificateHolderName,
        "certificateHolderCode": cert.CertificateHolderCode,
        "certificateHolderType": cert.CertificateHolderTypeCode,
        "issueDept": cert.CertificateIssuingAuthorityName,
        "issueDeptCode": cert.CertificateIssuingAuthorityCode,
        "certificateNumber": cert.CertificateNumber,
        "issueDate": "2015年3月1日",
        "certificateValidateEnd": "2045-01-01",
    }
    data.update(changes)
    return data


async def verify(
    node: Node,
    creds: dict[str, str],
    data: Any,
    *,
    cert_id: str | None = None,
    as_json: bool = False,
) -> Any:
    params: dict[str, Any] = {**creds, "CertificateTypeCode": RESIDENT_ID, "UseFor": USE_FOR}
    if cert_id:
        params["CertificateID"] = cert_id
    if as_json:
        return await node.post("VerifyCertificate", json={**params, "CertificateData": data})
    text = data if isinstance(data, str) else orjson.dumps(data).decode()
    return await node.post("VerifyCertificate", data={**params, "CertificateData": text})


async def test_verify_true_for_the_genuine_data_in_any_date_form(
    node: Node, creds: dict[str, str]
) -> None:
    cert = make_certificate(40, holder=40)
    await issue(node.ctx, cert)
    by_id = await verify(node, creds, table_11(40), cert_id=cert.CertificateID)
    assert (by_id.code, by_id.body["data"]) == ("0", {"verifyResult": "true"})
    by_holder_json = await verify(node, creds, table_11(40), as_json=True)
    assert by_holder_json.body["data"] == {"verifyResult": "true"}


@pytest.mark.parametrize(
    "change",
    [
        {"certificateHolder": "冒名顶替"},
        {"issueDate": "2015-03-02"},
        {"certificateValidateEnd": "2099-01-01"},
    ],
)
async def test_verify_false_for_altered_data(
    node: Node, creds: dict[str, str], change: dict[str, str]
) -> None:
    cert = make_certificate(41, holder=41)
    await issue(node.ctx, cert)
    reply = await verify(node, creds, table_11(41, **change), cert_id=cert.CertificateID)
    assert (reply.code, reply.body["data"]["verifyResult"]) == ("0", "false")
    assert reply.body["data"]["verifyMessage"].startswith("DATA_MISMATCH: ")


async def test_verify_false_for_a_revoked_certificate(node: Node, creds: dict[str, str]) -> None:
    cert = make_certificate(42, holder=42, status="03")
    await issue(node.ctx, cert)
    reply = await verify(node, creds, table_11(42), cert_id=cert.CertificateID)
    assert reply.body["data"]["verifyResult"] == "false"
    assert reply.body["data"]["verifyMessage"].startswith("STATUS_21: ")


@pytest.mark.parametrize(
    ("data", "code", "named"),
    [
        ("{not json", "15", "CertificateData"),
        ("[1, 2]", "15", "CertificateData"),
        (
            {k: v for k, v in table_11(43).items() if k != "issueDept"},
            "12",
            "CertificateData.issueDept",
        ),
        (table_11(43, issueDate="2015-13-45"), "15", "CertificateData.issueDate"),
        (table_11(43, certificateHolder=""), "12", "CertificateData.certificateHolder"),
    ],
)
async def test_verify_checks_certificate_data(
    node: Node, creds: dict[str, str], data: Any, code: str, named: str
) -> None:
    reply = await verify(node, creds, data)
    assert reply.code == code
    assert named in reply.body["head"]["message"]


async def test_verify_of_unknown_holder_is_10_and_of_unknown_id_is_10(
    node: Node, creds: dict[str, str]
) -> None:
    assert (await verify(node, creds, table_11(44))).code == "10"
    cert_id = make_certificate(44).CertificateID
    assert (await verify(node, creds, table_11(44), cert_id=cert_id)).code == "10"


# -- GetCertificateType and Retrieval --------------------------------------------------------------
async def test_types_are_the_published_catalogue(node: Node, creds: dict[str, str]) -> None:
    reply = await call(node, creds, "GetCertificateType")
    assert reply.code == "0"
    assert reply.body["data"]["total"] == str(len(CATALOGUE))
    assert all(set(item) == TABLE_18 for item in reply.items)
    assert {item["CertificateTypeCode"] for item in reply.items} >= {RESIDENT_ID, BUSINESS_LICENCE}


async def test_retrieval_answers_from_the_catalog_index(node: Node, creds: dict[str, str]) -> None:
    cert = make_certificate(50, holder=50)
    await issue(node.ctx, cert)
    reply = await call(
        node, creds, "Retrieval", CertificateHolderCode=cert.CertificateHolderCode, UseFor=USE_FOR
    )
    assert reply.code == "0"
    [item] = reply.items
    assert tuple(item) == RETRIEVAL_ITEM_KEYS
    assert item["certificateID"] == cert.CertificateID
    # an entry only the catalog knows (it came from a child) is found as well
    await node.ctx.store.db.execute(
        "UPDATE catalog SET via_node = 'child' WHERE certificate_source_id = ?",
        (cert.CertificateID,),
    )
    await node.ctx.store.db.execute(
        "DELETE FROM certificate WHERE certificate_id = ?", (cert.CertificateID,)
    )
    again = await call(
        node, creds, "Retrieval", CertificateHolderCode=cert.CertificateHolderCode, UseFor=USE_FOR
    )
    assert again.items == reply.items


async def test_retrieval_codes(node: Node, creds: dict[str, str]) -> None:
    code = citizen(51)
    assert (
        await call(node, creds, "Retrieval", CertificateHolderCode=code, UseFor=USE_FOR)
    ).code == "10"
    assert (
        await call(
            node,
            creds,
            "Retrieval",
            CertificateHolderCode=code,
            UseFor=USE_FOR,
            CertificateTypeCode=UNPUBLISHED_TYPE,
        )
    ).code == "13"
    assert (await call(node, creds, "Retrieval", UseFor=USE_FOR)).code == "12"
    await issue(
        node.ctx, make_certificate(51, holder=51, status="02"), operation=CdOperation.DELETE
    )
    assert (
        await call(node, creds, "Retrieval", CertificateHolderCode=code, UseFor=USE_FOR)
    ).code == "21"


async def test_seeded_certificates_are_served(node: Node, creds: dict[str, str]) -> None:
    rows = await node.ctx.store.db.fetchall(
        "SELECT certificate_id FROM certificate WHERE status = '01' LIMIT 3"
    )
    assert rows, "prepare() seeds the node"
    for row in rows:
        reply = await call(
            node, creds, "GetCertificateDataByCertificateID", CertificateID=row[0], UseFor=USE_FOR
        )
        assert reply.code in ("0", "22"), reply.body
