"""Issue #15's verification acceptance on the demo network (real processes, the embedded
broker): the QR code on a picture handed out in Heilongjiang for a certificate held in Jilin
reads back (zxing-cpp, not our code) as a token that VerifyQr at another node answers true;
one changed character fails with 15; after a cancellation the same token answers 21; a batch
file with broken rows gets a result per row through ``ecert verify --batch``."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image

from gateway.control.app_client import AppCaller, CallResult
from gateway.control.testing import EcertNetwork
from tests.e2e.cli import ecert
from tests.e2e.test_demo_aggregation import RESIDENT_ID, resident_id_card

OWNER = "jl-changchun"
ENTRY = "hlj-harbin"
FROM_IP = "127.0.9.15"


def qr_of_picture(net: EcertNetwork, certificate_id: str) -> str:
    """The QR token on page 1 of the picture ENTRY hands out (relayed from OWNER)."""

    async def go() -> bytes:
        state = net.launcher.state
        async with AppCaller(net.topology, state, ENTRY, from_ip=FROM_IP) as app:
            result = await app.call(
                "GetCertificatePictureByCertificateID",
                {"CertificateID": certificate_id, "UseFor": "现场核验"},
            )
            assert result.status == 0, result.envelope
            status, body, _ = await app.download(result.data["dataList"][0]["fileUrl"])
            assert status == 200
            return body

    with zipfile.ZipFile(io.BytesIO(asyncio.run(go()))) as archive:
        page = Image.open(io.BytesIO(archive.read("page-001.png")))
    (code,) = zxingcpp.read_barcodes(page)
    return str(code.text)


def verify_qr(net: EcertNetwork, node_id: str, token: str) -> CallResult:
    async def go() -> CallResult:
        async with AppCaller(net.topology, net.launcher.state, node_id, from_ip=FROM_IP) as app:
            return await app.post("VerifyQr", {"VerificationToken": token})

    return asyncio.run(go())


def test_the_qr_on_a_picture_verifies_at_another_province_and_a_forgery_fails(
    ecert_network: EcertNetwork,
) -> None:
    net = ecert_network
    record = resident_id_card(1501, area="220102")
    net.seal(OWNER, record)  # its authority must have a seal there
    net.admin(OWNER, "POST", "/admin/certificates", record)
    net.wait()
    token = qr_of_picture(net, record["CertificateID"])

    genuine = verify_qr(net, ENTRY, token)
    assert genuine.status == 0, genuine.envelope
    assert genuine.data["verifyResult"] == "true"
    assert genuine.data["certificateID"] == record["CertificateID"]
    assert genuine.route == [ENTRY, "hlj", "national", "jl", OWNER]
    assert verify_qr(net, "national", token).data["verifyResult"] == "true"

    forged = token[:30] + ("Q" if token[30] != "Q" else "R") + token[31:]
    refused = verify_qr(net, ENTRY, forged)
    assert (refused.status, refused.data["verifyResult"]) == (15, "false")
    assert "altered or mistyped" in refused.envelope["head"]["message"]

    path = f"/admin/certificates/{record['CertificateID']}/cancel"
    net.admin(OWNER, "POST", path, {"reason": "持证人申请注销"})
    net.wait()
    cancelled = verify_qr(net, ENTRY, token)
    assert (cancelled.status, cancelled.data["verifyResult"]) == (21, "false")


def table_11(record: dict[str, Any], **changes: str) -> dict[str, str]:
    data = {
        "certificateType": record["CertificateTypeName"],
        "certificateName": record["CertificateName"],
        "certificateHolder": record["CertificateHolderName"],
        "certificateHolderCode": record["CertificateHolderCode"],
        "certificateHolderType": record["CertificateHolderTypeCode"],
        "issueDept": record["CertificateIssuingAuthorityName"],
        "issueDeptCode": record["CertificateIssuingAuthorityCode"],
        "certificateNumber": record["CertificateNumber"],
        "issueDate": "2020年5月1日",  # Appendix C.4's form of the record's 2020-05-01
    }
    return {**data, **changes}


def test_a_batch_file_with_broken_rows_gets_a_result_for_every_row(
    ecert_network: EcertNetwork, tmp_path: Path
) -> None:
    net = ecert_network
    record = resident_id_card(1502, area="220102")
    net.seal(OWNER, record)  # its authority must have a seal there
    net.admin(OWNER, "POST", "/admin/certificates", record)
    net.wait()
    token = qr_of_picture(net, record["CertificateID"])
    lines = [
        {
            "CertificateTypeCode": RESIDENT_ID,
            "CertificateID": record["CertificateID"],
            "CertificateData": table_11(record),
        },
        "{this line is broken",
        {"CertificateTypeCode": RESIDENT_ID, "CertificateData": table_11(record, issueDate="x")},
        {
            "CertificateTypeCode": RESIDENT_ID,
            "CertificateID": record["CertificateID"],
            "CertificateData": table_11(record, certificateHolder="别人"),
        },
        {"VerificationToken": token},
        {"VerificationToken": token[:-3] + "AAA"},
    ]
    batch = tmp_path / "rows.jsonl"
    batch.write_text(
        "\n".join(
            line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
            for line in lines
        ),
        encoding="utf-8",
    )
    run = ecert(
        "verify",
        "--node",
        ENTRY,
        "--batch",
        str(batch),
        "--json",
        cwd=tmp_path,
        state_env=net.state_dir,
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    outcome = [(r["row"], r["status"], r["verifyResult"]) for r in answer["results"]]
    assert outcome == [
        (1, "0", "true"),
        (2, "15", "false"),
        (3, "15", "false"),
        (4, "0", "false"),
        (5, "0", "true"),
        (6, "15", "false"),
    ]
    assert answer["results"][0]["route"] == f"{ENTRY},hlj,national,jl,{OWNER}"
    assert "not a JSON object" in answer["results"][1]["message"]
    strict = ecert(
        "verify",
        "--node",
        ENTRY,
        "--batch",
        str(batch),
        "--strict",
        cwd=tmp_path,
        state_env=net.state_dir,
    )
    assert strict.returncode == 1
    assert "2 of 6 rows verified" in strict.stdout
