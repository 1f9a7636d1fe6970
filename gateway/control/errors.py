"""Exceptions of the operator's tools (launcher, admin client, application client, CLI).

GatewayError (``gateway.core.errors``)
├── LauncherError          starting or stopping the network failed
│   └── NotSettled             catalogs did not reach national in time (``.laggards``)
├── AdminError             an admin API call failed (``.node_id``)
│   ├── NodeNotRunning         nothing answers at the node's address
│   ├── AdminKeyMissing        no admin.key in the state directory (never started there)
│   └── AdminRejected          the node answered 4xx/5xx (``.status``; the node's ``error`` text)
├── CallError              a call as a business application could not be made (no account,
│                          no token, nothing answering)
├── ConformanceError       ``ecert conformance`` cannot test the system at all (exit code 2)
│   ├── SourceAddressUnusable  this machine cannot send from ``--from-ip``/``--other-ip``
│   ├── TargetUnreachable      nothing answers at the URL
│   ├── NotTheInterface        the URL answers, but not with the Appendix C envelope (HTML…)
│   └── AccountRefused         the system gives the account no token from ``--from-ip``
├── ScenarioInvalid        scenario files refused before anything ran (``.problems``: file,
│                          line, step and message of each)
└── FaultError             a fault could not be applied or healed (``.fault_id`` when known)
    ├── FaultInvalid           not a fault this network can have: unknown kind or node, nodes
    │                          that are not neighbours, values out of range (bad usage: exit 2)
    ├── FaultNotFound          no fault with that id is in force
    └── FaultFailed            the network could not take it: a node down or paused, an admin
                               call refused
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.errors import GatewayError


class LauncherError(GatewayError):
    """The network could not be started or stopped."""


class NotSettled(LauncherError):
    """The network did not settle in time; ``laggards`` names the nodes (or ``broker``)."""

    def __init__(self, message: str, *, laggards: tuple[str, ...]):
        super().__init__(message)
        self.laggards = laggards


class AdminError(GatewayError):
    def __init__(self, message: str, *, node_id: str):
        super().__init__(message)
        self.node_id = node_id


class NodeNotRunning(AdminError):
    """Connection refused or reset: the node process is not serving."""


class AdminKeyMissing(AdminError):
    """The node's admin key file does not exist."""


class AdminRejected(AdminError):
    def __init__(self, message: str, *, node_id: str, status: int):
        super().__init__(message, node_id=node_id)
        self.status = status


class CallError(GatewayError):
    """The call could not be made (no account, no token, nothing answering)."""


class ConformanceError(GatewayError):
    """The system under test cannot be tested at all; the message says why, in one line."""


class SourceAddressUnusable(ConformanceError):
    """This machine has no such address to send from."""


class TargetUnreachable(ConformanceError):
    """Connection refused, no route, a name that does not resolve, or no answer in time."""


class NotTheInterface(ConformanceError):
    """The URL answers, but not as a sharing interface (HTML, not JSON, no envelope)."""


class AccountRefused(ConformanceError):
    """The Token method refused the account from the caller's address (``.status``)."""

    def __init__(self, message: str, *, status: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ScenarioProblem:
    """One thing wrong with a scenario file; ``step`` is 0-based, shown 1-based."""

    file: str
    line: int | None
    step: int | None
    message: str
    kind: str | None = None  # the step's kind, when it has one

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        kind = f" ({self.kind})" if self.kind else ""
        step = "" if self.step is None else f" step {self.step + 1}{kind}:"
        return f"{where}:{step} {self.message}"


class ScenarioInvalid(GatewayError):
    """Scenario files that cannot run, each problem on a line of the message."""

    def __init__(self, problems: Sequence[ScenarioProblem]):
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = list(problems)


class FaultError(GatewayError):
    def __init__(self, message: str, *, fault_id: str | None = None):
        super().__init__(message)
        self.fault_id = fault_id


class FaultInvalid(FaultError):
    """The fault asked for is not possible in this network (a usage error)."""


class FaultNotFound(FaultError):
    """No fault with this id is in force."""


class FaultFailed(FaultError):
    """The running network could not take (or give back) the fault."""
