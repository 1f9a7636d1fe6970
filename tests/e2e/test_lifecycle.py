"""Issue #15's lifecycle acceptance on the demo network (real processes, the embedded broker):
a certificate issued at a city is routable by ID from another province; a change makes a new
version, the old ID answers 21 naming it from there and the new one answers 0 and verifies;
a cancellation answers 21 everywhere and no longer verifies; 02 → 01 is refused.

Each operation is followed by ``net.wait()``: the network has settled (every catalog row
acknowledged up to national) before the other province asks; no sleeping, a deadline each.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway.control.errors import AdminRejected
from gateway.control.testing import EcertNetwork
from tests.e2e.cli import ecert
from tests.e2e.test_demo_aggregation import RESIDENT_ID, resident_id_card

OWNER = "jl-changchun"
ROUTE_FROM_HARBIN = ["hlj-harbin", "hlj", "national", "jl", OWNER]
ENTRIES = ("hlj-harbin", "hlj", "national", "jl-jilin", "jl")  # every province, every tier


def by_id(net: EcertNetwork, entry: str, certificate_id: str) -> Any:
    return net.call(
        entry, "GetCertificateDataByCertificateID", CertificateID=certificate_id, UseFor="核验"
    )


def verify(net: EcertNetwork, entry: str, record: dict[str, Any]) -> str:
    data = {
        "certificateType": record["CertificateTypeName"],
        "certificateName": record["CertificateName"],
        "certificateHolder": record["CertificateHolderName"],
        "certificateHolderCode": record["CertificateHolderCode"],
        "certificateHolderType": record["CertificateHolderTypeCode"],
        "issueDept": record["CertificateIssuingAuthorityName"],
        "issueDeptCode": record["CertificateIssuingAuthorityCode"],
        "certificateNumber": record["CertificateNumber"],
        "issueDate": record["CertificateIssuedDate"],
    }
    result = net.call(
        entry,
        "VerifyCertificate",
        CertificateID=record["CertificateID"],
        CertificateTypeCode=RESIDENT_ID,
        CertificateData=json.dumps(data, ensure_ascii=False),
        UseFor="核验",
    )
    assert result.status == 0, result.envelope
    return str(result.data["verifyResult"])


def operate(net: EcertNetwork, certificate_id: str, operation: str, **body: Any) -> Any:
    return net.admin(OWNER, "POST", f"/admin/certificates/{certificate_id}/{operation}", body)


def test_issue_change_and_cancel_are_honoured_across_provinces(
    ecert_network: EcertNetwork,
) -> None:
    net = ecert_network
    record = resident_id_card(501, area="220102")
    old_id = record["CertificateID"]
    net.seal(OWNER, record)  # the test authority's seal (README "Seals")
    net.admin(OWNER, "POST", "/admin/certificates", record)
    net.wait()
    issued = by_id(net, "hlj-harbin", old_id)
    assert (issued.status, issued.route) == (0, ROUTE_FROM_HARBIN)

    changed = operate(
        net, old_id, "change", reason="姓名变更", fields={"CertificateHolderName": "测试人新"}
    )
    new = changed["certificate"]
    new_id = new["CertificateID"]
    assert new_id != old_id
    net.wait()
    old_answer = by_id(net, "hlj-harbin", old_id)
    assert (old_answer.status, old_answer.route) == (21, ROUTE_FROM_HARBIN)
    assert old_answer.data["newCertificateID"] == new_id
    assert new_id in old_answer.envelope["head"]["message"]
    new_answer = by_id(net, "hlj-harbin", new_id)
    assert (new_answer.status, new_answer.route) == (0, ROUTE_FROM_HARBIN)
    assert new_answer.data["dataList"][0]["certificateHolder"] == "测试人新"
    assert verify(net, "hlj-harbin", new) == "true"
    assert verify(net, "hlj-harbin", {**record, "CertificateID": old_id}) == "false"

    operate(net, new_id, "cancel", reason="持证人申请注销")
    net.wait()
    for entry in ENTRIES:
        assert by_id(net, entry, new_id).status == 21, entry
    assert verify(net, "hlj-harbin", new) == "false"
    file = net.call(
        "hlj-harbin", "GetCertificateFileByCertificateID", CertificateID=new_id, UseFor="核验"
    )
    assert file.status == 21

    with pytest.raises(AdminRejected) as refused:
        net.admin(OWNER, "POST", f"/admin/certificates/{new_id}/status",
                  {"status": "01", "reason": "恢复"})  # fmt: skip
    assert refused.value.status == 409
    assert by_id(net, "hlj-harbin", new_id).status == 21
    history = net.admin(OWNER, "GET", f"/admin/certificates/{new_id}/history")["history"]
    assert [(e["CertificateID"], e["transition"], e["to_status"]) for e in history] == [
        (old_id, "issue", "01"),
        (new_id, "change", "01"),
        (old_id, "change", "02"),
        (new_id, "cancel", "02"),
    ]


def test_the_cli_runs_the_lifecycle_and_refuses_a_revival(
    ecert_network: EcertNetwork, tmp_path: Path
) -> None:
    net = ecert_network
    record = resident_id_card(502, area="220102")
    del record["CertificateID"]  # the node assigns one: 版本号 001
    card = tmp_path / "card.json"
    card.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    net.seal(OWNER, record)  # the test authority's seal (README "Seals")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return ecert("cert", *args, "--node", OWNER, cwd=tmp_path, state_env=net.state_dir)

    issued = run("issue", str(card), "--json")
    assert issued.returncode == 0, issued.stderr
    old_id = json.loads(issued.stdout)["certificate"]["CertificateID"]
    assert old_id.split(".")[-2] == "001"
    changed = run("change", old_id, "--set", "CertificateHolderName=测试人改", "--reason", "更名")
    assert changed.returncode == 0, changed.stderr
    assert f"(replaces {old_id}, now 02)" in changed.stdout
    extended = run("extend", old_id, "--until", "2049-12-31", "--reason", "延期")
    assert extended.returncode == 1  # the old version is 02 now: final
    new_id = net.admin(OWNER, "GET", f"/admin/certificates/{old_id}/history")["history"][1][
        "CertificateID"
    ]
    extended = run("extend", new_id, "--until", "2049-12-31", "--reason", "延期", "--json")
    assert extended.returncode == 0, extended.stderr
    latest = json.loads(extended.stdout)["certificate"]["CertificateID"]
    assert latest.split(".")[-2] == "003"
    assert run("cancel", latest, "--reason", "注销").returncode == 0
    revived = run("restore", latest, "--reason", "恢复")
    assert revived.returncode == 1
    assert "final" in revived.stderr
    audit = ecert("audit", "--node", OWNER, "--account", "admin", "--json",
                  cwd=tmp_path, state_env=net.state_dir)  # fmt: skip
    assert audit.returncode == 0, audit.stderr
    newest = json.loads(audit.stdout)["rows"][0]
    assert (newest["status"], newest["use_for"]) == ("409", "恢复")
    assert newest["detail"].startswith(f"POST /admin/certificates/{latest}/restore: ")
    assert run("lose", latest).returncode == 2  # --reason is required
    history = run("history", latest, "--json")
    transitions = [e["transition"] for e in json.loads(history.stdout)["history"]]
    assert transitions == ["issue", "change", "change", "extend", "extend", "cancel"]
    net.wait()
    assert by_id(net, "hlj-harbin", latest).status == 21
