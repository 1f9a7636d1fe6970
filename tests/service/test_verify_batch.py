"""Batch verification at one node (§8.1.5): every row gets its own result in order; broken rows
(not an object, a missing parameter, a malformed value) get their own code and message while
the rest go through; dates in the C.4 form are understood; every row is audited."""

from __future__ import annotations

from typing import Any

import pytest

from nodes.synth.catalogue import RESIDENT_ID
from nodes.verification.qr import certificate_token
from tests.service.certs import issue, make_certificate
from tests.service.conftest import Node
from tests.service.test_admin import admin
from tests.service.test_verify_and_index import table_11

pytestmark = pytest.mark.asyncio


async def batch(node: Node, rows: list[Any], **body: Any) -> tuple[int, Any]:
    return await admin(node, "POST", "/admin/verify/batch", json={"rows": rows, **body})


async def test_each_row_has_its_own_result_and_broken_rows_do_not_stop_the_rest(
    node: Node,
) -> None:
    genuine, qr = make_certificate(60, holder=60), make_certificate(61, holder=61)
    await issue(node.ctx, genuine, qr)
    rows: list[Any] = [
        {"CertificateTypeCode": RESIDENT_ID, "CertificateData": table_11(60)},  # 年月日 date
        "{not json",  # a line the client could not read
        {"CertificateTypeCode": RESIDENT_ID},  # CertificateData missing
        {"CertificateTypeCode": RESIDENT_ID, "CertificateData": table_11(60, issueDate="昨天")},
        {
            "CertificateTypeCode": RESIDENT_ID,
            "CertificateData": table_11(60, certificateHolder="X"),
        },
        {"VerificationToken": certificate_token(qr)},
        {"VerificationToken": "NOTATOKEN"},
    ]
    status, answer = await batch(node, rows)
    assert status == 200, answer
    results = answer["results"]
    assert [r["row"] for r in results] == [1, 2, 3, 4, 5, 6, 7]
    assert [(r["status"], r["verifyResult"]) for r in results] == [
        ("0", "true"),
        ("15", "false"),
        ("12", "false"),
        ("15", "false"),
        ("0", "false"),
        ("0", "true"),
        ("15", "false"),
    ]
    assert "not a JSON object" in results[1]["message"]
    assert "CertificateData" in results[2]["message"]
    assert "issueDate" in results[3]["message"]
    assert (answer["total"], answer["verified"]) == (7, 2)


async def test_every_row_is_audited_under_the_batch_request_id(node: Node) -> None:
    cert = make_certificate(62, holder=62)
    await issue(node.ctx, cert)
    rows = [{"VerificationToken": certificate_token(cert)}, 42]
    status, _ = await batch(node, rows)
    assert status == 200
    await node.flush_audit()
    found = await node.ctx.store.audit.find(account_id="admin", limit=10)
    by_method = sorted((row.method, row.status, row.detail.split(":")[0]) for row in found)
    assert by_method == [
        ("VerifyCertificate", "15", "batch row 2"),
        ("VerifyQr", "0", "batch row 1"),
        ("admin", "200", "POST /admin/verify/batch"),
    ]
    assert len({row.request_id for row in found}) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [({"rows": "x"}, "rows must be a list"), ({"rows": [], "UseFor": "u" * 201}, "UseFor")],
)
async def test_a_body_that_is_not_a_batch_is_400(node: Node, body: Any, error: str) -> None:
    status, answer = await admin(node, "POST", "/admin/verify/batch", json=body)
    assert status == 400
    assert error in answer["error"]
