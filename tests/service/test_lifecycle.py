"""The lifecycle of a certificate through the admin API (nodes.model.lifecycle's table): versions,
final statuses, reasons and the history, and what the sharing methods answer after each."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nodes.model.identifiers import parse_certificate_id
from tests.service.certs import make_certificate
from tests.service.conftest import Node, Reply
from tests.service.test_admin import admin, outbox


async def issued(node: Node, serial: int, **changes: Any) -> str:
    cert = make_certificate(serial, **changes)
    status, record = await admin(node, "POST", "/admin/certificates", json=cert.to_record())
    assert status == 200, record
    return cert.CertificateID


async def operate(node: Node, certificate_id: str, operation: str, **body: Any) -> tuple[int, Any]:
    return await admin(node, "POST", f"/admin/certificates/{certificate_id}/{operation}", json=body)


async def by_id(
    node: Node, certificate_id: str, method: str = "GetCertificateDataByCertificateID"
) -> Reply:
    creds = await node.login()
    return await node.post(
        method, data={**creds, "CertificateID": certificate_id, "UseFor": "核验"}
    )


async def history(node: Node, certificate_id: str) -> list[tuple[str, str, str, str]]:
    status, body = await admin(node, "GET", f"/admin/certificates/{certificate_id}/history")
    assert status == 200, body
    return [
        (e["CertificateID"], e["transition"], e["to_status"], e["cd_operation"])
        for e in body["history"]
    ]


async def test_a_change_makes_a_new_version_and_the_old_one_names_it(node: Node) -> None:
    old_id = await issued(node, 90)
    status, body = await operate(
        node, old_id, "change", reason="姓名变更", fields={"CertificateHolderName": "新名字"}
    )
    assert status == 200, body
    new_id = body["certificate"]["CertificateID"]
    old, new = parse_certificate_id(old_id), parse_certificate_id(new_id)
    assert (new.serial, new.version) == (old.serial, "002")
    assert body["previous"]["CertificateStatus"] == "02"
    assert await outbox(node, old_id) == [("I", "测试090"), ("D", "测试090")]
    assert await outbox(node, new_id) == [("I", "新名字")]

    answer = await by_id(node, old_id)
    assert answer.code == "21"
    assert answer.body["data"] == {"newCertificateID": new_id}
    assert new_id in answer.body["head"]["message"]
    answer = await by_id(node, new_id)
    assert (answer.code, answer.items[0]["certificateHolder"]) == ("0", "新名字")
    assert await history(node, new_id) == [
        (old_id, "issue", "01", "I"),
        (new_id, "change", "01", "I"),
        (old_id, "change", "02", "D"),
    ]


async def test_extend_is_a_change_of_the_expiring_date_to_a_later_one(node: Node) -> None:
    certificate_id = await issued(node, 91, expiring="2030-01-01")
    status, body = await operate(
        node, certificate_id, "extend", reason="延期", CertificateExpiringDate="2029-01-01"
    )
    assert status == 400, body
    assert "after the current expiry" in body["error"]
    status, body = await operate(
        node, certificate_id, "extend", reason="延期", CertificateExpiringDate="2040年1月1日"
    )
    assert status == 200, body
    assert body["certificate"]["CertificateExpiringDate"] == "2040-01-01"
    assert body["certificate"]["CertificateID"].endswith(
        ".002." + body["certificate"]["CertificateID"][-1]
    )


@pytest.mark.parametrize("operation", ["cancel", "revoke"])
async def test_cancelled_and_revoked_are_final(node: Node, operation: str) -> None:
    certificate_id = await issued(node, 92 if operation == "cancel" else 93)
    status, _ = await operate(node, certificate_id, operation, reason="注销")
    assert status == 200
    before = await outbox(node, certificate_id)
    for refused, body in [
        ("restore", {"reason": "恢复"}),
        ("change", {"reason": "变更", "fields": {"CertificateHolderName": "x"}}),
        ("lose", {"reason": "挂失"}),
        ("status", {"status": "01", "reason": "恢复"}),
        ("cancel", {"reason": "再注销"}),
    ]:
        status, answer = await operate(node, certificate_id, refused, **body)
        assert status == 409, (refused, answer)
        assert "final" in answer["error"]
    assert await outbox(node, certificate_id) == before  # nothing changed
    assert (await by_id(node, certificate_id)).code == "21"
    assert [t for _, t, _, _ in await history(node, certificate_id)] == ["issue", operation]


async def test_lose_suspend_and_restore(node: Node) -> None:
    certificate_id = await issued(node, 94)
    assert (await operate(node, certificate_id, "lose", reason="遗失"))[0] == 200
    assert (await by_id(node, certificate_id, "GetCertificateFileByCertificateID")).code == "23"
    status, answer = await operate(node, certificate_id, "suspend", reason="暂扣")
    assert status == 409, answer  # only from 01
    assert (await operate(node, certificate_id, "restore", reason="找回"))[0] == 200
    assert (await by_id(node, certificate_id)).code == "0"
    assert (await operate(node, certificate_id, "suspend", reason="暂扣"))[0] == 200
    assert (await by_id(node, certificate_id)).code == "23"
    assert await outbox(node, certificate_id) == [("I", "测试094")] + [("U", "测试094")] * 3
    assert [(t, s) for _, t, s, _ in await history(node, certificate_id)] == [
        ("issue", "01"),
        ("lose", "04"),
        ("restore", "01"),
        ("suspend", "05"),
    ]


@pytest.mark.parametrize(
    ("operation", "body", "status", "error"),
    [
        ("cancel", {}, 400, "needs a reason"),
        ("cancel", {"reason": "  "}, 400, "needs a reason"),
        ("undo", {"reason": "x"}, 400, "unknown transition"),
        ("change", {"reason": "x"}, 400, "fields"),
        ("change", {"reason": "x", "fields": {"CertificateStatus": "01"}}, 400, "cannot set"),
        ("change", {"reason": "x", "fields": {"CertificateID": "1.2"}}, 400, "cannot set"),
        ("change", {"reason": "x", "fields": {"CertificateIssuedDate": "no"}}, 400, "invalid"),
        ("extend", {"reason": "x"}, 400, "CertificateExpiringDate"),
        ("status", {"status": "09", "reason": "x"}, 400, "status must be"),
        ("correct", {"reason": "x"}, 405, "PATCH"),
    ],
)
async def test_bad_operations_are_refused_and_change_nothing(
    node: Node, operation: str, body: dict[str, Any], status: int, error: str
) -> None:
    certificate_id = await issued(node, 95)
    answer = await operate(node, certificate_id, operation, **body)
    assert answer[0] == status, answer
    assert error in answer[1]["error"]
    assert await outbox(node, certificate_id) == [("I", "测试095")]
    assert len(await history(node, certificate_id)) == 1


async def test_unknown_certificates_and_reissues_are_refused(node: Node) -> None:
    certificate_id = await issued(node, 96)
    missing = certificate_id.replace("T00000096", "T00000097")[:-1] + "0"
    assert (await operate(node, missing, "cancel", reason="x"))[0] == 404
    cert = make_certificate(96)
    status, answer = await admin(node, "POST", "/admin/certificates", json=cert.to_record())
    assert status == 409
    assert "already issued" in answer["error"]


async def test_a_correction_in_place_needs_an_open_anomaly(node: Node) -> None:
    certificate_id = await issued(node, 98)
    path = f"/admin/certificates/{certificate_id}"
    status, answer = await admin(node, "PATCH", path, json={"CertificateHolderName": "改"})
    assert status == 409, answer
    assert "no open catalog anomaly" in answer["error"]
    assert await outbox(node, certificate_id) == [("I", "测试098")]


async def test_two_changes_of_one_version_at_once_make_one_new_version(node: Node) -> None:
    certificate_id = await issued(node, 99)
    answers = await asyncio.gather(
        *(
            operate(
                node,
                certificate_id,
                "change",
                reason=f"r{i}",
                fields={"CertificateHolderName": f"名{i}"},
            )
            for i in range(4)
        )
    )
    assert sorted(status for status, _ in answers) == [200, 409, 409, 409]
    assert [t for _, t, _, _ in await history(node, certificate_id)] == [
        "issue",
        "change",
        "change",
    ]
