"""What a check is, what it may need, how it fails, and the expectations checks share.

A check is data (``id``, the SPEC section and the standard's clause, what it needs; its title,
what must hold, is the function's docstring) and a small async function of a ``Context``. The
function raises ``CheckFailed`` with one line saying what is wrong, or ``NotApplicable`` when the
system gave it nothing to judge; it may return a short note of what it saw.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.control.conformance.findings import Findings
from gateway.control.conformance.probe import Exchange, Probe
from gateway.control.conformance.target import Target


class Need(StrEnum):
    """What a check cannot run without; missing, the check is not applicable."""

    CERTIFICATE = "a certificate"  # one the system answers with status 0
    HOLDER = "a holder"  # of such a certificate (by-holder methods, Retrieval)
    OTHER_IP = "`--other-ip`"  # a second address of this machine
    REVOKED = "a certificate answered 21"
    EXPIRED = "an expired certificate"  # answered 22, or (wrongly) 0 after its end date
    RESTRICTED = "a certificate answered 23"

    @property
    def missing(self) -> str:
        """Why a check that needs this is not applicable, and how to give it."""
        given = "give --certificate ID or --holder CODE:TYPE"
        return {
            Need.CERTIFICATE: f"no certificate the system answers with status 0: {given}",
            Need.HOLDER: f"no holder of a certificate the system answers with status 0: {given}",
            Need.OTHER_IP: "needs a second address of this machine: give --other-ip IP",
            Need.REVOKED: "no certificate given or found is answered 21 (注销/吊销):"
            " give one with --certificate",
            Need.EXPIRED: "no certificate given or found is answered 22 or past its end date:"
            " give one with --certificate",
            Need.RESTRICTED: "no certificate given or found is answered 23 (挂失/暂扣):"
            " give one with --certificate",
        }[self]


class CheckFailed(Exception):
    """The system did not do what the clause says; the message says what it did instead."""


class NotApplicable(Exception):
    """The system gave this check nothing to judge; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class Context:
    probe: Probe
    target: Target
    found: Findings


CheckFn = Callable[[Context], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    spec: str  # the section of SPEC.md, e.g. "§3.1"
    clause: str  # DB23/T 2836-2021's clause, table or appendix, e.g. "7.3.1 Table 2, C.1"
    needs: tuple[Need, ...]
    run: CheckFn

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]


def check(
    id: str, *, spec: str, clause: str, needs: Sequence[Need] = (), title: str | None = None
) -> Callable[[CheckFn], Check]:
    """Make a ``Check`` of the function below, titled by its docstring (registers nothing)."""

    def make(run: CheckFn) -> Check:
        what = title or inspect.cleandoc(run.__doc__ or "").replace("\n", " ")
        if not what:
            raise ValueError(f"check {id} says nothing of what must hold")
        return Check(id, what, spec, clause, tuple(needs), run)

    return make


# -- expectations ---------------------------------------------------------------------------------
def answered(exchange: Exchange) -> Any:
    """The decoded JSON answer; a failure when there is none."""
    if exchange.error:
        raise CheckFailed(f"{exchange.request}: {exchange.error}")
    if exchange.answer is None:
        raise CheckFailed(
            f"{exchange.request} answered HTTP {exchange.http_status} {exchange.content_type},"
            " not JSON"
        )
    return exchange.answer


def expect_status(exchange: Exchange, *expected: int, why: str) -> str:
    """``head.status`` is one of ``expected`` (read leniently: the envelope has its own checks)."""
    answered(exchange)
    status = exchange.status
    if status not in {str(code) for code in expected}:
        wanted = " or ".join(str(code) for code in expected)
        head = exchange.answer.get("head") if isinstance(exchange.answer, dict) else None
        raise CheckFailed(f"{why}: expected status {wanted}, got {status!r} ({head})")
    return status or ""


def fail_on(problems: Iterable[str], why: str) -> None:
    """A failure listing ``problems``, when there are any."""
    found = list(problems)
    if found:
        shown = "; ".join(found[:6]) + (f"; and {len(found) - 6} more" if len(found) > 6 else "")
        raise CheckFailed(f"{why}: {shown}")
