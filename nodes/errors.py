"""Exceptions raised by a node. Each carries the Appendix D return code it answers with.

NodeError                      (.code: ReturnCode)
├── UnknownMethod              2   no such method at this node
├── NotFound                   10  nothing matches
├── AuthenticationFailed       11  unknown account, wrong or expired token
├── ParameterMissing           12  a required parameter is missing or empty (.parameter)
├── TypeNotPublished           13  unknown CertificateTypeCode
├── IpMismatch                 14  the caller is not at the account's bound IP
├── ParameterInvalid           15  a malformed value (.parameter)
├── TooFrequent                16  the account's rate limit is exceeded
├── CertificateUnusable        21, 22, 23  revoked/cancelled, expired, restricted
├── CascadeUnreachable         30  the node that holds the answer did not answer in time (.node_id)
├── HopLimitExceeded           32  hop budget exhausted or a loop detected
├── StoreError                 99  the database failed
└── FaultInjected              99  an injected fault makes the node answer 99 (.fault)

NodeStartFailed                    the node could not start serving (its address is taken)
"""

from __future__ import annotations

from gateway.core.protocol import ReturnCode


class NodeError(Exception):
    code: ReturnCode = ReturnCode.OTHER

    def __init__(self, message: str | None = None):
        super().__init__(message or self.code.message)
        self.message = message or self.code.message


class UnknownMethod(NodeError):
    code = ReturnCode.UNKNOWN_METHOD


class NotFound(NodeError):
    code = ReturnCode.NOT_FOUND


class AuthenticationFailed(NodeError):
    code = ReturnCode.AUTH_FAILED


class ParameterMissing(NodeError):
    code = ReturnCode.REQUIRED_PARAMETER_EMPTY

    def __init__(self, parameter: str):
        super().__init__(f"{ReturnCode.REQUIRED_PARAMETER_EMPTY.message}: {parameter}")
        self.parameter = parameter


class TypeNotPublished(NodeError):
    code = ReturnCode.TYPE_NOT_PUBLISHED


class IpMismatch(NodeError):
    code = ReturnCode.IP_MISMATCH


class ParameterInvalid(NodeError):
    code = ReturnCode.INVALID_PARAMETER

    def __init__(self, parameter: str, reason: str):
        super().__init__(f"{ReturnCode.INVALID_PARAMETER.message}: {parameter}: {reason}")
        self.parameter = parameter


class TooFrequent(NodeError):
    code = ReturnCode.TOO_FREQUENT


class CertificateUnusable(NodeError):
    """Raised with one of CERTIFICATE_REVOKED, CERTIFICATE_EXPIRED, CERTIFICATE_RESTRICTED."""

    def __init__(self, code: ReturnCode, certificate_id: str):
        self.code = code
        super().__init__(f"{code.message}: {certificate_id}")
        self.certificate_id = certificate_id


class CascadeUnreachable(NodeError):
    code = ReturnCode.CASCADE_UNREACHABLE

    def __init__(self, node_id: str, reason: str = ""):
        detail = f": {reason}" if reason else ""
        super().__init__(f"{ReturnCode.CASCADE_UNREACHABLE.message}: {node_id}{detail}")
        self.node_id = node_id


class HopLimitExceeded(NodeError):
    code = ReturnCode.HOP_LIMIT


class StoreError(NodeError):
    code = ReturnCode.OTHER


class FaultInjected(NodeError):
    code = ReturnCode.OTHER

    def __init__(self, fault: str):
        super().__init__(f"{ReturnCode.OTHER.message}: injected fault {fault}")
        self.fault = fault


class NodeStartFailed(Exception):
    """The node could not listen on its address; the process exits 1 after one log line."""
