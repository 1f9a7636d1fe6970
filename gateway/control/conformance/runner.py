"""Run the suite against one system: first what makes a run possible, then every check.

``run_suite(target)`` raises a ``ConformanceError`` (one line, exit code 2 in the CLI) when the
system cannot be tested at all — this machine cannot send from ``--from-ip``, nothing answers at
the URL, the URL answers HTML, the account gets no token — and otherwise answers a ``Report``
in which every check passed, failed or was not applicable, with the exchanges it made.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from gateway.control.conformance.base import Check, CheckFailed, Context, Need, NotApplicable
from gateway.control.conformance.findings import Findings, find
from gateway.control.conformance.probe import Exchange, Probe, check_source_address
from gateway.control.conformance.suite import SUITE
from gateway.control.conformance.target import Target
from gateway.control.errors import AccountRefused, NotTheInterface, TargetUnreachable

Outcome = Literal["passed", "failed", "not applicable"]


@dataclass(frozen=True, slots=True)
class Result:
    check: Check
    outcome: Outcome
    message: str = ""  # why it failed or was not applicable; a note when it passed
    seconds: float = 0.0
    exchanges: tuple[Exchange, ...] = ()

    @property
    def decisive(self) -> Exchange | None:
        """The exchange the outcome rests on: the last one (a check stops at its first failure)."""
        return self.exchanges[-1] if self.exchanges else None


@dataclass(frozen=True, slots=True)
class Report:
    target: Target
    started: datetime
    findings: Findings
    token: str
    results: tuple[Result, ...] = field(default_factory=tuple)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def exit_code(self) -> int:
        """1 when any check failed, else 0 (not applicable is not a failure)."""
        return 1 if self.count("failed") else 0


async def run_suite(target: Target, checks: Sequence[Check] = SUITE) -> Report:
    for address, option in ((target.from_ip, "--from-ip"), (target.other_ip, "--other-ip")):
        if address:
            check_source_address(address, option)
    started = datetime.now(UTC)
    async with Probe(target) as probe:
        probe.token = await first_token(probe)
        findings = await find(probe, target)
        context = Context(probe, target, findings)
        results = [await run_check(context, check) for check in checks]
    return Report(target, started, findings, probe.token, tuple(results))


async def first_token(probe: Probe) -> str:
    """The account's token of the day, or the reason the system cannot be tested."""
    target = probe.target
    exchange = await probe.token_call()
    probe.take()
    where = f"{target.url}/token"
    if exchange.error:
        raise TargetUnreachable(f"cannot reach {where}: {exchange.error}")
    if not isinstance(exchange.answer, dict):
        raise NotTheInterface(
            f"{where} answered HTTP {exchange.http_status} {exchange.content_type or '(no type)'},"
            f" not the JSON envelope of Appendix C: is {target.url} the interface's path?"
        )
    status, data = exchange.status, exchange.data
    if status != "0":
        head = exchange.answer.get("head")
        message = head.get("message", "") if isinstance(head, dict) else ""
        source = target.from_ip or "this machine's address"
        raise AccountRefused(
            f"{target.url} refused account {target.account} from {source}:"
            f" status {status} {message}".rstrip(),
            status=str(status),
        )
    token = data.get("dataList") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise NotTheInterface(f"{where} answered status 0 but no token in data.dataList")
    return token  # its form is token.shape's business


def has(context: Context, need: Need) -> bool:
    found = context.found
    present = {
        Need.CERTIFICATE: lambda: found.certificate is not None,
        Need.HOLDER: lambda: found.holder is not None,
        Need.OTHER_IP: lambda: bool(context.target.other_ip),
        Need.REVOKED: lambda: bool(found.answering(21)),
        Need.EXPIRED: lambda: bool(found.answering(22) or found.ended_but_answered()),
        Need.RESTRICTED: lambda: bool(found.answering(23)),
    }
    return present[need]()


async def run_check(context: Context, check: Check) -> Result:
    """One check: not applicable for lack of what it needs, else run and timed."""
    context.probe.take()
    missing = [need for need in check.needs if not has(context, need)]
    if missing:
        return Result(check, "not applicable", missing[0].missing)
    started = time.perf_counter()
    outcome: Outcome
    try:
        note = await check.run(context)
        outcome, message = "passed", note or ""
    except CheckFailed as exc:
        outcome, message = "failed", str(exc)
    except NotApplicable as exc:
        outcome, message = "not applicable", str(exc)
    except Exception as exc:  # an answer the check could not read: reported, never a traceback
        outcome, message = "failed", f"could not read the answers: {type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    return Result(check, outcome, message, seconds, tuple(context.probe.take()))
