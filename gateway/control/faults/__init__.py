"""Faults on a running network (issue #12): what they are (``spec``), where they go (``plan``),
the book of those in force (``book``), the API (``service.Faults``) and the keeper that heals
timed process faults (``keeper``). The CLI is ``gateway.control.cli.faults``.
"""

from gateway.control.faults.plan import check_spec
from gateway.control.faults.service import Faults
from gateway.control.faults.spec import (
    Direction,
    FaultKind,
    FaultRecord,
    FaultSpec,
    parse_duration,
)

__all__ = (
    "Direction",
    "FaultKind",
    "FaultRecord",
    "FaultSpec",
    "Faults",
    "check_spec",
    "parse_duration",
)
