"""Issue #15's seals across the demo network (real processes, the embedded broker): a city's
seals travel up to national with the type catalogue; a certificate issued and sealed at a city
verifies from another province; the OFD fetched there from the other province's entry node
carries a seal that verifies with the public key national knows, without the product's code,
and fails on one flipped byte."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

from gateway.control.testing import EcertNetwork
from nodes.synth.ids import authority_uscc
from tests.e2e.cli import ecert
from tests.e2e.test_demo_aggregation import resident_id_card
from tests.e2e.test_lifecycle import verify
from tests.service.ofd_check import CheckFailed, check_seal, with_byte_flipped

OWNER, ENTRY = "jl-changchun", "hlj-harbin"
UNSEALED_AUTHORITY = authority_uscc("220100", "77000777")


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # a plain GET (SPEC §3.3)
        body: bytes = response.read()
    return body


def test_a_sealed_certificate_verifies_and_its_ofd_seal_holds_two_provinces_away(
    ecert_network: EcertNetwork,
) -> None:
    net = ecert_network
    record = resident_id_card(701, area="220102")
    seal = net.seal(OWNER, record)
    issued = net.admin(OWNER, "POST", "/admin/certificates", record)
    assert issued["CertificateSealID"] == seal["SealID"]
    net.wait()  # the catalog row and the seal are at national

    at_national = {s["SealID"]: s for s in net.admin("national", "GET", "/admin/seals")}
    assert at_national[seal["SealID"]] == seal  # the public record, as the city holds it
    assert at_national[seal["SealID"]]["node"] == OWNER
    assert verify(net, ENTRY, issued) == "true"

    result = net.call(
        ENTRY, "GetCertificateFileByCertificateID", CertificateID=issued["CertificateID"],
        UseFor="跨省核验",
    )  # fmt: skip
    assert result.status == 0, result.envelope
    assert result.route == [ENTRY, "hlj", "national", "jl", OWNER]
    package = download(result.data["dataList"][0]["fileUrl"])
    public_key = bytes.fromhex(at_national[seal["SealID"]]["publicKey"])
    assert "OFD.xml" in check_seal(package, public_key)
    with pytest.raises(CheckFailed, match="SM3 digest of Doc_0/Pages/Page_0/Content"):
        check_seal(
            with_byte_flipped(package, "Doc_0/Pages/Page_0/Content.xml", "颁发机构".encode()),
            public_key,
        )


def test_the_cli_lists_and_creates_seals(ecert_network: EcertNetwork, tmp_path: Path) -> None:
    net = ecert_network

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return ecert(*args, "--node", OWNER, cwd=tmp_path, state_env=net.state_dir)

    listed = run("seals", "--json")
    assert listed.returncode == 0, listed.stderr
    codes = {seal["CertificateIssuingAuthorityCode"] for seal in json.loads(listed.stdout)}
    assert "112201003661816784" in codes  # 长春市公安局, made with the synthetic data
    table = run("seals")
    assert "长春市公安局电子印章" in table.stdout
    created = run(
        "seal", "create", "--authority-name", "长春市测试局",
        "--authority-code", UNSEALED_AUTHORITY, "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["SealID"].startswith(f"ES{UNSEALED_AUTHORITY}")
    refused = run("seal", "create", "--authority-name", "x", "--authority-code", "123")
    assert refused.returncode != 0
    assert "GB 32100" in refused.stderr + refused.stdout
