"""``ecert conformance`` against a demo-shaped network of real node processes: every tier as
the entry, certificates and holders owned elsewhere in the cascade. Every check must pass — the
suite keeps our nodes honest, and the nodes keep the suite honest — and the JUnit file must parse.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml

from gateway.control.conformance import SUITE
from tests.e2e.harness import PROJECT_ROOT, Network, network_in_background, write_topology
from tests.e2e.routing_support import wait_aggregated

ENTRIES = ("hlj-harbin", "hlj-amr", "hlj", "mot", "national")  # city, department, province…
OWNER = "jl-changchun"  # holds the certificates the suite is given
HOLDERS_AT = "hlj-qiqihar"  # holds the certificates of the holder the suite is given
CLI_TIMEOUT = 180.0  # seconds for one run of the suite on two loaded cores


@dataclass(frozen=True)
class Givens:
    """What the suite is told: certificates of each status, owned at OWNER, and one holder."""

    certificates: dict[str, str]  # expected answer ("0", "21", "22", "23") -> CertificateID
    usable_org: str  # a usable certificate of a holder of type 001
    holder: str  # CODE:TYPE of a holder at HOLDERS_AT


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Network, Givens]]:
    root = tmp_path_factory.mktemp("conformance-demo")
    with network_in_background(write_topology(root, shape="demo"), root / "state") as net:
        asyncio.run(wait_aggregated(net))
        yield net, asyncio.run(givens(net))


async def givens(net: Network) -> Givens:
    today = datetime.now(net.topology.zone).date().isoformat()
    found: dict[str, str] = {}
    usable_org = ""
    for cert in await net.admin(OWNER, "GET", "/admin/certificates"):
        record = await net.admin(OWNER, "GET", f"/admin/certificates/{cert['CertificateID']}")
        status, end = record["CertificateStatus"], record.get("CertificateExpiringDate") or ""
        expected = {"02": "21", "03": "21", "04": "23", "05": "23"}.get(status)
        expected = expected or ("22" if end and end < today else "0")
        if expected == "0" and record["CertificateHolderTypeCode"] == "001" and not usable_org:
            usable_org = record["CertificateID"]
        found.setdefault(expected, record["CertificateID"])
    holder = next(
        c
        for c in await net.admin(HOLDERS_AT, "GET", "/admin/certificates")
        if c["CertificateStatus"] == "01"
    )
    assert set(found) == {"0", "21", "22", "23"}, found
    assert usable_org, "no usable certificate of a 001 holder at the owner"
    return Givens(
        found,
        usable_org,
        f"{holder['CertificateHolderCode']}:{holder['CertificateHolderTypeCode']}",
    )


def loopback() -> str:
    """A caller address of its own (127.1.x.y: no node of a generated topology lives there)."""
    return f"127.1.{random.randrange(256)}.{random.randrange(1, 255)}"


def ecert(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "gateway.control.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=CLI_TIMEOUT,
        check=False,
    )


async def account_at(net: Network, node_id: str, ip: str) -> str:
    created = await net.admin(node_id, "POST", "/admin/accounts", {"ip": ip, "name": "conformance"})
    return str(created["AccountId"])


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_check_passes_with_each_tier_as_the_entry(
    network: tuple[Network, Givens], entry: str, tmp_path: Path
) -> None:
    net, given = network
    from_ip, other_ip = loopback(), loopback()
    while other_ip == from_ip:
        other_ip = loopback()
    account = asyncio.run(account_at(net, entry, from_ip))
    junit = tmp_path / "conformance.xml"
    url = net.url(entry) + net.topology.path
    done = ecert(
        "conformance",
        url,
        "--account",
        account,
        "--from-ip",
        from_ip,
        "--other-ip",
        other_ip,
        "--certificate",
        *given.certificates.values(),
        given.usable_org,
        "--holder",
        given.holder,
        "--json",
        "--junit",
        str(junit),
    )
    assert done.stderr == ""
    report: dict[str, Any] = json.loads(done.stdout)
    not_passed = {c["id"]: c["message"] for c in report["checks"] if c["outcome"] != "passed"}
    assert not_passed == {}, f"from {entry}"
    assert done.returncode == 0
    answered = {c["CertificateID"]: c["status"] for c in report["certificates"]}
    assert {answered[cid] for cid in given.certificates.values()} == set(given.certificates)
    assert all(answered[cid] == code for code, cid in given.certificates.items())
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    assert [case.name for case in suite] == [check.id for check in SUITE]
    assert (suite.failures, suite.errors, suite.skipped) == (0, 0, 0)


def test_an_account_of_another_node_is_refused_in_one_line(network: tuple[Network, Givens]) -> None:
    net, _ = network
    from_ip = loopback()
    account = asyncio.run(account_at(net, "hlj-harbin", from_ip))
    url = net.url("hlj") + net.topology.path
    done = ecert("conformance", url, "--account", account, "--from-ip", from_ip)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"ecert conformance: {url} refused account {account} from {from_ip}:"
        " status 11 身份验证不通过: unknown AccountId"
    ]
