"""The conformance kit against a stub sharing system on a real socket (port 0).

A correct stub passes every check; each defect planted in it is reported by the check meant for
it and by no other; a run without the data a check needs reports it not applicable; and the CLI
answers bad input (nothing at the URL, an HTML page, a refused account, an address this machine
does not have) with one line on stderr and exit code 2.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from junitparser import Failure, JUnitXml, Skipped

from gateway.control.conformance import Holder, Report, Target, run_suite
from gateway.control.conformance.base import Need
from gateway.control.conformance.probe import Probe
from tests.brokers import free_port
from tests.e2e.harness import PROJECT_ROOT
from tests.service.conformance_stub import CERTIFICATES, COMPANY, PERSON, STUB, stub_app

ACCOUNT = "stub-account-0001"
CLI_TIMEOUT = 60.0  # seconds for one ``ecert conformance`` run against the stub
Start = Callable[..., Awaitable[str]]


def loopback() -> str:
    """A random loopback address outside 127.0.x.x (127.0.1.1 is the host name's)."""
    return f"127.{random.randrange(3, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def addresses() -> tuple[str, str]:
    first = loopback()
    while (second := loopback()) == first:
        pass
    return first, second


@pytest.fixture
async def start_stub(addresses: tuple[str, str]) -> AsyncIterator[Start]:
    """``await start_stub(*defects)``: a stub on 127.0.0.1 and a free port; its /ecert URL."""
    servers: list[TestServer] = []

    async def start(*defects: str) -> str:
        app = stub_app(account=ACCOUNT, bound_ip=addresses[0], defects=frozenset(defects))
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/ecert"))

    yield start
    for server in servers:
        await server.close()


def target(
    url: str, addresses: tuple[str, str], *, data: bool = True, other: bool = True
) -> Target:
    return Target(
        url=url,
        account=ACCOUNT,
        from_ip=addresses[0],
        other_ip=addresses[1] if other else None,
        certificates=tuple(c.certificate_id for c in CERTIFICATES) if data else (),
        holders=(Holder(PERSON, "111"), Holder(COMPANY, "001")) if data else (),
    )


def outcomes(report: Report) -> dict[str, str]:
    return {result.check.id: result.outcome for result in report.results}


def messages(report: Report) -> dict[str, str]:
    return {result.check.id: result.message for result in report.results}


async def test_a_correct_system_passes_every_check(
    start_stub: Start, addresses: tuple[str, str]
) -> None:
    report = await run_suite(target(await start_stub(), addresses))
    assert {k: v for k, v in outcomes(report).items() if v != "passed"} == {}
    assert report.exit_code == 0


@pytest.mark.parametrize(
    ("defect", "check_id", "says"),
    [
        ("envelope", "envelope.GetCertificateType", "head.status is 0 (a number)"),
        ("ip_binding", "token.ip_bound", "expected status 14, got '0'"),
        ("item_key", "items.data.by_id", "no 'issueDept' (Table 8)"),
        ("return_code", "code.missing_parameter", "expected status 12, got '15'"),
    ],
)
async def test_each_planted_defect_fails_its_own_check_and_no_other(
    start_stub: Start, addresses: tuple[str, str], defect: str, check_id: str, says: str
) -> None:
    report = await run_suite(target(await start_stub(defect), addresses))
    failed = {k for k, v in outcomes(report).items() if v == "failed"}
    assert failed == {check_id}, messages(report)
    assert says in messages(report)[check_id]
    assert all(v == "passed" for k, v in outcomes(report).items() if k != check_id)
    assert report.exit_code == 1


async def test_without_certificates_or_a_second_address_those_checks_are_not_applicable(
    start_stub: Start, addresses: tuple[str, str]
) -> None:
    report = await run_suite(target(await start_stub(), addresses, data=False, other=False))
    needing = {r.check.id for r in report.results if r.check.needs}
    status_checks = {r.check.id for r in report.results if r.check.id.startswith("code.status.")}
    not_applicable = {k for k, v in outcomes(report).items() if v == "not applicable"}
    assert not_applicable == needing | status_checks
    assert "--other-ip" in messages(report)["token.ip_bound"]
    assert "--certificate" in messages(report)["items.data.by_id"]
    assert all(v == "passed" for k, v in outcomes(report).items() if k not in not_applicable)
    assert report.exit_code == 0
    assert Need.OTHER_IP in next(
        r.check.needs for r in report.results if r.check.id == "token.ip_bound"
    )


async def test_a_new_day_s_token_is_fetched_and_the_call_made_again(
    addresses: tuple[str, str],
) -> None:
    """At midnight the day's token stops working: the probe asks Token again, as an application
    must, instead of failing every check after it; a token the check chose is never replaced."""
    app = stub_app(account=ACCOUNT, bound_ip=addresses[0])
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with Probe(target(str(server.make_url("/ecert")), addresses)) as probe:
            probe.token = app[STUB].token
            app[STUB].token = "0" * 32  # the stub's next day
            exchange = await probe.call("GetCertificateType")
            assert (exchange.status, probe.token) == ("0", "0" * 32)
            assert [e.status for e in probe.take()] == ["11", "0", "0"]
            chosen = await probe.call("GetCertificateType", {"AccessToken": "F" * 32})
            assert chosen.status == "11"
            assert len(probe.take()) == 1
    finally:
        await server.close()


# -- the command --------------------------------------------------------------------------------
async def ecert(*args: str) -> tuple[int, str, str]:
    """``python -m gateway.control.cli ARGS`` as a user runs it, while this loop serves the stub."""
    env = dict(os.environ, COLUMNS="200")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.control.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def cli_args(url: str, addresses: tuple[str, str], *extra: str) -> list[str]:
    args = ["conformance", url, "--account", ACCOUNT, "--from-ip", addresses[0]]
    args += ["--other-ip", addresses[1], "--certificate", *(c.certificate_id for c in CERTIFICATES)]
    return [*args, "--holder", f"{PERSON}:111", *extra]


async def test_the_command_writes_json_and_a_junit_file_that_parses(
    start_stub: Start, addresses: tuple[str, str], tmp_path: Path
) -> None:
    junit = tmp_path / "out" / "conformance.xml"
    code, out, err = await ecert(
        *cli_args(await start_stub("item_key"), addresses, "--json", "--junit", str(junit))
    )
    assert code == 1, err
    report = json.loads(out)
    failed = [c["id"] for c in report["checks"] if c["outcome"] == "failed"]
    assert failed == ["items.data.by_id"]
    assert report["summary"]["failed"] == 1
    assert report["checks"][0]["exchanges"][0]["answer"]["head"]["status"] == "0"
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    cases = {case.name: case for case in suite}
    assert set(cases) == {c["id"] for c in report["checks"]}
    assert isinstance(cases["items.data.by_id"].result[0], Failure)
    assert "issueDept" in (cases["items.data.by_id"].result[0].message or "")
    assert suite.failures == 1
    assert suite.skipped == report["summary"]["not_applicable"]


async def test_the_command_prints_a_table_and_marks_not_applicable_as_skipped(
    start_stub: Start, addresses: tuple[str, str], tmp_path: Path
) -> None:
    junit = tmp_path / "conformance.xml"
    url = await start_stub()
    code, out, err = await ecert(
        "conformance", url, "--account", ACCOUNT, "--from-ip", addresses[0], "--junit", str(junit)
    )
    assert code == 0, err
    assert "token.ip_bound" in out
    assert "n/a" in out
    assert "give --other-ip IP" in out
    assert "0 failed" in out
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    skipped = {case.name for case in suite if case.result and isinstance(case.result[0], Skipped)}
    assert "token.ip_bound" in skipped
    assert "code.status.revoked" in skipped


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("unreachable", "cannot reach"),
        ("html", "not the JSON envelope of Appendix C"),
        ("refused", "refused account"),
        ("source", "cannot send from --from-ip 192.0.2.1"),
        ("other_source", "cannot send from --other-ip 192.0.2.1"),
    ],
)
async def test_bad_input_is_one_line_and_exit_code_2(
    start_stub: Start, addresses: tuple[str, str], case: str, says: str
) -> None:
    url = await start_stub()
    args = {
        "unreachable": [
            "conformance",
            f"http://127.0.0.1:{free_port('127.0.0.1')}/ecert",
            "--account",
            ACCOUNT,
        ],
        "html": [
            "conformance",
            url.replace("/ecert", "/site"),
            "--account",
            ACCOUNT,
            "--from-ip",
            addresses[0],
        ],
        "refused": ["conformance", url, "--account", "nobody", "--from-ip", addresses[0]],
        "source": ["conformance", url, "--account", ACCOUNT, "--from-ip", "192.0.2.1"],
        "other_source": [
            "conformance",
            url,
            "--account",
            ACCOUNT,
            "--from-ip",
            addresses[0],
            "--other-ip",
            "192.0.2.1",
        ],
    }[case]
    code, out, err = await ecert(*args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert says in err
