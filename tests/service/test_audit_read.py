"""Audit you can read: admin actions (refused ones too) and file downloads are in the audit log
beside the method calls, and ``GET /admin/audit`` filters it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.service.certs import make_certificate
from tests.service.conftest import Node
from tests.service.test_admin import admin


async def audit(node: Node, query: str = "") -> list[dict[str, Any]]:
    status, body = await admin(node, "GET", f"/admin/audit?{query}")
    assert status == 200, body
    rows: list[dict[str, Any]] = body["rows"]
    return rows


async def test_admin_actions_are_audited_with_their_outcome_and_reason(node: Node) -> None:
    cert = make_certificate(120)
    await admin(node, "POST", "/admin/certificates", json=cert.to_record())
    path = f"/admin/certificates/{cert.CertificateID}"
    assert (await admin(node, "POST", f"{path}/cancel", json={"reason": "注销申请"}))[0] == 200
    assert (await admin(node, "POST", f"{path}/restore", json={"reason": "想恢复"}))[0] == 409
    assert (await admin(node, "POST", f"{path}/cancel", json={}, key="0" * 64))[0] == 401

    rows = await audit(node, "method=admin")
    assert [(r["status"], r["use_for"]) for r in rows[:4]] == [
        ("401", ""),
        ("409", "想恢复"),
        ("200", "注销申请"),
        ("200", ""),
    ]
    assert rows[1]["detail"].startswith(f"POST {path}/restore: ")
    assert "final" in rows[1]["detail"]
    assert {r["account_id"] for r in rows} == {"admin"}
    assert all(r["method"] == "admin" for r in await audit(node, "account=admin"))


async def test_a_request_id_finds_its_row_and_filters_combine(node: Node) -> None:
    creds = await node.login()
    reply = await node.post(
        "GetCertificateType", data=creds, headers={"X-Ecert-Request-Id": "audit-me-1"}
    )
    assert reply.code == "0"
    [row] = await audit(node, "request_id=audit-me-1")
    assert (row["method"], row["account_id"], row["status"]) == (
        "GetCertificateType",
        creds["AccountId"],
        "0",
    )
    assert await audit(node, f"request_id=audit-me-1&account={creds['AccountId']}") == [row]
    assert await audit(node, "request_id=audit-me-1&method=admin") == []
    assert await audit(node, f"since={quote(row['time'])}&method=GetCertificateType") == [row]
    assert await audit(node, "since=2999-01-01T00:00&method=GetCertificateType") == []
    assert len(await audit(node, "limit=1")) == 1


async def test_bad_audit_queries_are_400(node: Node) -> None:
    for query in ("limit=0", "limit=x", "limit=10001", "since=yesterday"):
        status, body = await admin(node, "GET", f"/admin/audit?{query}")
        assert status == 400, (query, body)


async def test_file_downloads_are_audited(node: Node) -> None:
    cert = make_certificate(121)
    await admin(node, "POST", "/admin/certificates", json=cert.to_record())
    creds = await node.login()
    reply = await node.post(
        "GetCertificateFileByCertificateID",
        data={**creds, "CertificateID": cert.CertificateID, "UseFor": "办理入学"},
    )
    url = reply.items[0]["fileUrl"]
    assert (await node.get(url))[0] == 200
    assert (await node.get(url.replace(url[-36:-4], "0" * 32)))[0] == 404
    missing, served = (await audit(node, "method=file"))[:2]
    assert (served["status"], served["use_for"]) == ("0", "办理入学")
    assert served["detail"] == f"{cert.CertificateID}.ofd"
    assert missing["status"] == "10"
