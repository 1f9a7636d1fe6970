"""Authorisation across provinces on the demo network (real processes, the embedded broker):
a holder in Jilin authorises a certificate to someone who holds none; a by-holder lookup for
that person entering in Heilongjiang then finds it (routed to the Jilin city), and so does
``ecert mine``; withdrawing ends it; authorising to oneself or by someone who is not the holder
is refused with its reason and changes nothing."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import date
from pathlib import Path
from typing import Any

from gateway.control.app_client import CallResult
from gateway.control.testing import EcertNetwork
from nodes.model.identifiers import make_citizen_id
from tests.e2e.cli import ecert
from tests.e2e.test_demo_aggregation import RESIDENT_ID, resident_id_card

OWNER, ENTRY = "jl-changchun", "hlj-harbin"
GRANTEE = make_citizen_id("230102", date(1970, 1, 1), 777)
GRANTEE_NAME = "受托人"
WITHIN = 30.0  # seconds for a grant to reach every node's index


def by_holder(net: EcertNetwork, holder: str) -> CallResult:
    return net.call(
        ENTRY,
        "GetCertificateDataByHolder",
        CertificateHolderCode=holder,
        CertificateTypeCode=RESIDENT_ID,
        UseFor="代办",
    )


def until(net: EcertNetwork, holder: str, status: int) -> CallResult:
    """The by-holder answer at ENTRY once it has ``status`` (the grant index caught up)."""
    deadline = time.monotonic() + WITHIN
    while True:
        result = by_holder(net, holder)
        if result.status == status or time.monotonic() > deadline:
            return result
        time.sleep(0.1)  # polling an answer that changes when the exchange delivers


def test_an_authorised_holder_finds_the_certificate_from_another_province(
    ecert_network: EcertNetwork, tmp_path: Path
) -> None:
    net = ecert_network
    record = resident_id_card(1701, area="220102")
    holder, name = record["CertificateHolderCode"], record["CertificateHolderName"]
    net.seal(OWNER, record)  # its authority must have a seal there
    net.admin(OWNER, "POST", "/admin/certificates", record)
    net.wait()
    assert by_holder(net, GRANTEE).status == 10

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return ecert(*args, cwd=tmp_path, state_env=net.state_dir)

    granted = run("authorise", "--node", OWNER, record["CertificateID"], "--grantor", holder,
                  name, "--to", GRANTEE, GRANTEE_NAME, "--reason", "代办", "--json")  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    grant = json.loads(granted.stdout)

    found = until(net, GRANTEE, 0)
    assert found.status == 0, found.envelope
    assert [i["certificateHolderCode"] for i in found.data["dataList"]] == [holder]
    assert found.route[0] == ENTRY
    assert found.route[-1] == OWNER

    mine = run("mine", "--node", ENTRY, "--holder", GRANTEE, GRANTEE_NAME, "--json")
    assert mine.returncode == 0, mine.stderr
    (authorised,) = json.loads(mine.stdout)["authorised"]
    assert (authorised["certificateID"], authorised["status"]) == (record["CertificateID"], "0")
    table = run("mine", "--node", ENTRY, "--holder", GRANTEE, GRANTEE_NAME)
    assert table.returncode == 0, table.stderr
    assert f"authorised to {GRANTEE_NAME}: 1" in table.stdout
    listed = run("authorisations", "--node", OWNER, "--holder", GRANTEE, "--active")
    assert listed.returncode == 0, listed.stderr
    assert f"authorisations at {OWNER} (1)" in listed.stdout
    held = json.loads(run("mine", "--node", ENTRY, "--holder", holder, name, "--json").stdout)
    assert record["CertificateID"] in {item["certificateID"] for item in held["held"]}

    withdrawn = run("withdraw", "--node", OWNER, str(grant["id"]), "--reason", "收回")
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert until(net, GRANTEE, 10).status == 10


def refused(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 1
    return run.stderr


def test_authorising_to_oneself_or_as_someone_else_is_refused(
    ecert_network: EcertNetwork, tmp_path: Path
) -> None:
    net = ecert_network
    record = resident_id_card(1702, area="220102")
    holder, name = record["CertificateHolderCode"], record["CertificateHolderName"]
    net.seal(OWNER, record)  # its authority must have a seal there
    net.admin(OWNER, "POST", "/admin/certificates", record)

    def authorise(grantor: tuple[str, str], to: tuple[str, str]) -> Any:
        return ecert("authorise", "--node", OWNER, record["CertificateID"], "--grantor", *grantor,
                     "--to", *to, cwd=tmp_path, state_env=net.state_dir)  # fmt: skip

    assert "themself" in refused(authorise((holder, name), (holder, name)))
    assert "does not hold" in refused(authorise((GRANTEE, GRANTEE_NAME), (holder, name)))
    listed = net.admin(OWNER, "GET", f"/admin/authorisations?holder={holder}")
    assert listed["authorisations"] == []
    audit = net.admin(OWNER, "GET", "/admin/audit?method=admin&limit=20")["rows"]
    errors = [
        row["detail"] for row in audit if row["detail"].startswith("POST /admin/authorisations")
    ]
    assert any("themself" in detail for detail in errors)
    assert any("does not hold" in detail for detail in errors)
