"""The admin API (``/admin``): key and loopback guard, status, accounts, issuing (the lifecycle
operations: test_lifecycle.py)."""

from __future__ import annotations

import os
import socket
from typing import Any

import orjson
import pytest

from nodes.model.identifiers import parse_certificate_id
from tests.service.certs import citizen, make_certificate
from tests.service.conftest import APP_IP, OTHER_IP, Node


async def admin(
    node: Node,
    method: str,
    path: str,
    *,
    json: Any = None,
    key: str | None = None,
    source: str = APP_IP,
) -> tuple[int, Any]:
    if key is None:
        key = node.ctx.settings.admin_key_path.read_text().strip()
    async with node.session(source).request(
        method, f"{node.ctx.node.url}{path}", json=json, headers={"X-Ecert-Admin-Key": key}
    ) as response:
        return response.status, orjson.loads(await response.read())


async def outbox(node: Node, certificate_id: str) -> list[tuple[str, str]]:
    rows = await node.ctx.store.db.fetchall(
        "SELECT cd_operation, certificate_holder FROM outbox WHERE certificate_source_id = ?"
        " ORDER BY seq",
        (certificate_id,),
    )
    return [(row[0], row[1]) for row in rows]


def non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent; this only picks a source address
            address: str = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


async def test_the_key_is_required(node: Node) -> None:
    assert (await admin(node, "GET", "/admin/status", key=""))[0] == 401
    status, body = await admin(node, "GET", "/admin/status", key="0" * 64)
    assert status == 401
    assert "error" in body


async def test_only_loopback_callers_get_in(node: Node) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    status, body = await admin(node, "GET", "/admin/status", source=address)
    assert status == 403
    assert "loopback" in body["error"]


async def test_the_key_file_is_private(node: Node) -> None:
    mode = os.stat(node.ctx.settings.admin_key_path).st_mode & 0o777
    assert mode == 0o600


async def test_status(node: Node) -> None:
    status, body = await admin(node, "GET", "/admin/status")
    assert status == 200
    assert set(body) == {
        "node",
        "tier",
        "url",
        "pid",
        "certificates",
        "catalog_rows",
        "outbox_pending",
        "open_anomalies",
        "anomaly_relays_pending",
        "last_exchange_at",
        "types",
    }
    assert (body["node"], body["tier"], body["pid"]) == ("hlj-harbin", "city", os.getpid())
    assert body["certificates"] == await node.ctx.store.certificates.count() > 0
    assert body["catalog_rows"] == body["outbox_pending"] == body["certificates"]
    assert (body["open_anomalies"], body["last_exchange_at"], body["types"]) == (0, None, 7)
    assert body["anomaly_relays_pending"] == 0


async def test_accounts(node: Node) -> None:
    status, account = await admin(
        node, "POST", "/admin/accounts", json={"ip": OTHER_IP, "name": "不动产登记系统"}
    )
    assert status == 200
    assert set(account) == {"AccountId", "ip", "name", "kind", "rate_limit", "disabled"}
    assert account["rate_limit"] == 50
    assert (account["ip"], account["kind"], account["disabled"]) == (OTHER_IP, "app", False)
    token = await node.post("token", data={"AccountId": account["AccountId"]}, source=OTHER_IP)
    assert token.code == "0"
    _, accounts = await admin(node, "GET", "/admin/accounts")
    assert {"peer-hlj", account["AccountId"]} <= {a["AccountId"] for a in accounts}
    status, disabled = await admin(node, "POST", f"/admin/accounts/{account['AccountId']}/disable")
    assert (status, disabled["disabled"]) == (200, True)
    again = await node.post("token", data={"AccountId": account["AccountId"]}, source=OTHER_IP)
    assert again.code == "11"


@pytest.mark.parametrize("body", [{"ip": "not-an-ip"}, {"name": "x"}, {"ip": APP_IP, "name": 5}])
async def test_bad_account_requests_are_400(node: Node, body: dict[str, Any]) -> None:
    status, answer = await admin(node, "POST", "/admin/accounts", json=body)
    assert status == 400
    assert answer["error"]


async def test_unknown_account_cannot_be_disabled(node: Node) -> None:
    assert (await admin(node, "POST", "/admin/accounts/nobody/disable"))[0] == 404


async def test_certificates_list_and_get(node: Node) -> None:
    _, listed = await admin(node, "GET", "/admin/certificates")
    assert len(listed) == await node.ctx.store.certificates.count()
    assert set(listed[0]) == {
        "CertificateID",
        "CertificateHolderCode",
        "CertificateHolderTypeCode",
        "CertificateTypeCode",
        "CertificateNumber",
        "CertificateStatus",
        "CertificateHolderName",
        "CertificateName",
    }
    status, record = await admin(node, "GET", f"/admin/certificates/{listed[0]['CertificateID']}")
    assert status == 200
    assert record["CertificateID"] == listed[0]["CertificateID"]
    assert "surface" in record
    assert (await admin(node, "GET", "/admin/certificates/1.2.3"))[0] == 404


async def test_issue_and_cancel_emit_catalog_increments(node: Node) -> None:
    cert = make_certificate(80)
    status, record = await admin(node, "POST", "/admin/certificates", json=cert.to_record())
    assert (status, record["CertificateID"]) == (200, cert.CertificateID)
    status, changed = await admin(
        node,
        "POST",
        f"/admin/certificates/{cert.CertificateID}/status",
        json={"status": "02", "reason": "户口迁出注销"},
    )
    assert (status, changed["CertificateStatus"]) == (200, "02")
    assert changed["CertificateStatusChangeReason"] == "户口迁出注销"
    assert await outbox(node, cert.CertificateID) == [
        ("I", cert.CertificateHolderName),
        ("D", cert.CertificateHolderName),
    ]
    creds = await node.login()
    reply = await node.post(
        "GetCertificateDataByCertificateID",
        data={**creds, "CertificateID": cert.CertificateID, "UseFor": "核验"},
    )
    assert reply.code == "21"


async def test_a_certificate_issued_without_an_id_gets_a_new_one_with_a_valid_check(
    node: Node,
) -> None:
    record = make_certificate(83).to_record()
    del record["CertificateID"]
    ids = []
    for _ in range(2):
        status, issued = await admin(node, "POST", "/admin/certificates", json=record)
        assert status == 200, issued
        ids.append(issued["CertificateID"])
    assert ids[0] != ids[1]
    for certificate_id in ids:
        parts = parse_certificate_id(certificate_id)  # raises on a wrong check character
        assert (parts.type_code, parts.issuer_code, parts.version) == (
            record["CertificateTypeCode"],
            record["CertificateIssuingAuthorityCode"],
            "001",
        )
        assert await outbox(node, certificate_id) == [("I", record["CertificateHolderName"])]


@pytest.mark.parametrize("missing", ["CertificateTypeCode", "CertificateIssuingAuthorityCode"])
async def test_no_id_is_assigned_without_type_and_issuer(node: Node, missing: str) -> None:
    record = make_certificate(84).to_record()
    del record["CertificateID"], record[missing]
    status, answer = await admin(node, "POST", "/admin/certificates", json=record)
    assert status == 400
    assert "CertificateID is assigned" in answer["error"]


async def test_invalid_certificates_are_refused_unless_injected_on_purpose(node: Node) -> None:
    good_code = citizen(81)
    wrong_code = good_code[:-1] + ("1" if good_code[-1] != "1" else "2")  # bad check character
    bad = {**make_certificate(81).to_record(), "CertificateHolderCode": wrong_code}
    status, answer = await admin(node, "POST", "/admin/certificates", json=bad)
    assert status == 400
    assert "CertificateHolderCode" in answer["error"] or "GB 11643" in answer["error"]
    assert await outbox(node, bad["CertificateID"]) == []
    status, _ = await admin(node, "POST", "/admin/certificates?validate=false", json=bad)
    assert status == 200
    row = await node.ctx.store.db.fetchone(
        "SELECT certificate_holder_code FROM outbox WHERE certificate_source_id = ?",
        (bad["CertificateID"],),
    )
    assert row is not None
    assert row[0] == wrong_code


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/status", {"status": "09"}),
        ("", {"CertificateID": "1.2.156.3005.2.other"}),
        ("", {"NoSuchField": "x"}),
        ("", {"CertificateIssuedDate": "not a date"}),
    ],
)
async def test_bad_maintenance_requests_are_400(node: Node, path: str, body: Any) -> None:
    cert = make_certificate(82)
    await admin(node, "POST", "/admin/certificates", json=cert.to_record())
    method = "POST" if path else "PATCH"
    status, answer = await admin(
        node, method, f"/admin/certificates/{cert.CertificateID}{path}", json=body
    )
    assert status == 400, answer


@pytest.mark.parametrize("limit", ["1e23", "100000000000000000000000", "0", "-5"])
async def test_an_out_of_range_listing_limit_is_400(node: Node, limit: str) -> None:
    status, answer = await admin(node, "GET", f"/admin/certificates?limit={limit}")
    assert status == 400, answer
    assert "limit" in answer["error"]


@pytest.mark.parametrize("field", ["surface", "detail"])
async def test_an_injected_record_with_a_scalar_surface_is_400(node: Node, field: str) -> None:
    bad = {**make_certificate(83).to_record(), field: 5}
    status, answer = await admin(node, "POST", "/admin/certificates?validate=false", json=bad)
    assert status == 400, answer
    assert f"{field} must be a list" in answer["error"]
