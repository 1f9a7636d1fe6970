"""The lifecycle of a certificate (证照维护, SPEC §2.2, §7; DB23/T 2836 §5.3.3): the transition
table, and the history entry each transition leaves.

=========  ==============  ==================================================  ============
operation  from status     effect                                              cd_operation
=========  ==============  ==================================================  ============
issue      (none)          a new certificate, 版本号 001 unless the ID says       I
                           otherwise, status 01
change     01              a new version: same 流水号, 版本号 + 1, a new          I (new),
                           CertificateID, status 01; the old version becomes   D (old)
                           02 and answers 21 naming the new one
extend     01              延期: a change of CertificateExpiringDate to a later   I, D
                           date (a new version, as change)
cancel     01, 04, 05      02 注销 (final)                                       D
revoke     01, 04, 05      03 吊销 (final)                                       D
lose       01              04 挂失                                               U
suspend    01              05 暂扣                                               U
restore    04, 05          01 正常                                               U
correct    any             §7.6 e: the fields of a record the parent's catalog  U (I, D as
                           refused (an open E.2 anomaly) corrected in place,   the status
                           same CertificateID                                  says)
=========  ==============  ==================================================  ============

02 and 03 are final: every operation on them is refused. Each operation needs a reason (issue
and correct excepted) and records it, the time and both statuses in the certificate's history,
which is kept for every version of it (its *lineage*: type code, issuer code and 流水号).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from nodes.model.codes import CertificateStatus as Status
from nodes.model.identifiers import parse_certificate_id


class Transition(StrEnum):
    ISSUE = "issue"
    CHANGE = "change"
    EXTEND = "extend"
    CANCEL = "cancel"
    REVOKE = "revoke"
    LOSE = "lose"
    SUSPEND = "suspend"
    RESTORE = "restore"
    CORRECT = "correct"


FINAL: frozenset[Status] = frozenset({Status.CANCELLED, Status.REVOKED})
_IN_FORCE = frozenset({Status.NORMAL, Status.LOST, Status.SUSPENDED})

# A status operation: the statuses it may start from, and the status it sets.
STATUS_TRANSITIONS: Mapping[Transition, tuple[frozenset[Status], Status]] = MappingProxyType(
    {
        Transition.CANCEL: (_IN_FORCE, Status.CANCELLED),
        Transition.REVOKE: (_IN_FORCE, Status.REVOKED),
        Transition.LOSE: (frozenset({Status.NORMAL}), Status.LOST),
        Transition.SUSPEND: (frozenset({Status.NORMAL}), Status.SUSPENDED),
        Transition.RESTORE: (frozenset({Status.LOST, Status.SUSPENDED}), Status.NORMAL),
    }
)
# A new version: the statuses it may start from.
VERSIONING: Mapping[Transition, frozenset[Status]] = MappingProxyType(
    {Transition.CHANGE: frozenset({Status.NORMAL}), Transition.EXTEND: frozenset({Status.NORMAL})}
)
# The operation that sets each status (the old ``/status`` admin route maps through it).
FOR_STATUS: Mapping[Status, Transition] = MappingProxyType(
    {
        Status.NORMAL: Transition.RESTORE,
        Status.CANCELLED: Transition.CANCEL,
        Status.REVOKED: Transition.REVOKE,
        Status.LOST: Transition.LOSE,
        Status.SUSPENDED: Transition.SUSPEND,
    }
)
# Fields a change may not touch: they make the CertificateID or are the lifecycle's own.
UNCHANGEABLE: frozenset[str] = frozenset(
    {
        "CertificateID",
        "CertificateTypeCode",
        "CertificateIssuingAuthorityCode",
        "CertificateStatus",
        "CertificateStatusChangeReason",
        "CertificateStatusChangeTime",
        "CertificateSealID",
        "CertificateSignature",
    }
)
MAX_VERSION = 999


def allowed_from(transition: Transition) -> frozenset[Status]:
    """The statuses ``transition`` may start from (every one for issue and correct)."""
    if transition in STATUS_TRANSITIONS:
        return STATUS_TRANSITIONS[transition][0]
    return VERSIONING.get(transition, frozenset(Status))


def lineage_of(certificate_id: str) -> str:
    """``<type code>.<issuer code>.<流水号>``: what every version of a certificate shares
    (the certificate_id itself when it does not parse, as a record stored unvalidated may)."""
    try:
        parts = parse_certificate_id(certificate_id)
    except ValueError:
        return certificate_id
    return f"{parts.type_code}.{parts.issuer_code}.{parts.serial}"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One transition of one certificate version, as ``GET …/history`` lists it."""

    certificate_id: str
    transition: str
    from_status: str  # "" for issue
    to_status: str
    reason: str
    time: str
    related_id: str = ""  # change: the new version (old row) or the old one (new row)
    cd_operation: str = ""

    @property
    def lineage(self) -> str:
        return lineage_of(self.certificate_id)

    def public(self) -> dict[str, str]:
        return {
            "CertificateID": self.certificate_id,
            "transition": self.transition,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "reason": self.reason,
            "time": self.time,
            "related_id": self.related_id,
            "cd_operation": self.cd_operation,
        }
