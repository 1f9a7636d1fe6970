"""Exceptions raised by a node. Each carries the Appendix D return code it answers with.

NodeError                      (.code: ReturnCode; an error may also set http_status,
                                http_headers and close_connection for its HTTP answer)
├── UnknownMethod              2   no such method at this node
│   └── MethodNotAllowed       2   e.g. a method called with GET, PUT, TRACE…: HTTP 405, Allow
├── NotFound                   10  nothing matches
├── AuthenticationFailed       11  unknown account, wrong or expired token
├── ParameterMissing           12  a required parameter is missing or empty (.parameter)
├── TypeNotPublished           13  unknown CertificateTypeCode
├── IpMismatch                 14  the caller is not at the account's bound IP
├── ParameterInvalid           15  a malformed value (.parameter)
│   ├── BodyTooLarge           15  a body over the limit, refused before reading it: HTTP 413
│   └── BodyUnreadable         15  a body that does not decode as its Content-Encoding says
├── TooFrequent                16  the account's rate limit is exceeded
├── CertificateUnusable        21, 22, 23  revoked/cancelled, expired, restricted
├── CascadeUnreachable         30  the node that holds the answer did not answer in time (.node_id)
├── StoreError                 99  the database failed
├── SealError                  99  a seal's key cannot be made or read, a signature not made
└── FaultInjected              99  an injected fault makes the node answer 99 (.fault)

(32, hop budget exhausted or a loop, is a routing plan's answer: ``gateway.core.routing.HopLimit``.)

NodeStartFailed                    the node could not start serving (its address is taken)

LifecycleRefused                   a certificate operation refused (admin API; .http_status)
├── CertificateUnknown         404 no such certificate at this node
├── TransitionUnknown          400 not an operation of the lifecycle table
├── ReasonMissing              400 the operation needs a reason
├── ChangeInvalid              400 fields a change may not touch, an invalid new record
├── TransitionNotAllowed       409 not from this status (02 and 03 are final), an ID taken
├── SealMissing                409 the issuing authority has no valid seal at this node
└── SealInvalid                400 a seal record that cannot be created as asked
"""

from __future__ import annotations

from gateway.core.protocol import ReturnCode


class NodeError(Exception):
    code: ReturnCode = ReturnCode.OTHER
    data: object = None  # the answer's ``data`` (None: the envelope's empty object)

    def __init__(self, message: str | None = None):
        super().__init__(message or self.code.message)
        self.message = message or self.code.message


class UnknownMethod(NodeError):
    code = ReturnCode.UNKNOWN_METHOD


class MethodNotAllowed(UnknownMethod):
    """The §7.3 methods are POST only (Appendix C), a fileUrl is GET only; the envelope says so."""

    http_status = 405
    close_connection = True  # a body may be left unread

    def __init__(self, what: str, verb: str, allowed: str):
        super().__init__(
            f"{ReturnCode.UNKNOWN_METHOD.message}: {what} must be called with {allowed}, not {verb}"
        )
        self.http_headers = (("Allow", allowed),)


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


class BodyTooLarge(ParameterInvalid):
    http_status = 413
    close_connection = True  # the body is left unread

    def __init__(self, limit: int):
        super().__init__("body", f"request body over {limit // (1024 * 1024)} MiB")


class BodyUnreadable(ParameterInvalid):
    close_connection = True  # the rest of the stream cannot be trusted

    def __init__(self, reason: str):
        super().__init__("body", f"cannot be decoded: {reason}")


class BodyLate(ParameterInvalid):
    http_status = 408
    close_connection = True  # the rest of the body may still come

    def __init__(self, within: float):
        super().__init__("body", f"not received within {within:g} s")


class TooFrequent(NodeError):
    code = ReturnCode.TOO_FREQUENT


class CertificateUnusable(NodeError):
    """Raised with one of CERTIFICATE_REVOKED, CERTIFICATE_EXPIRED, CERTIFICATE_RESTRICTED.

    A version a change replaced (``new_certificate_id``) names its successor in the message and
    in ``data.newCertificateID`` of the answer."""

    def __init__(self, code: ReturnCode, certificate_id: str, *, new_certificate_id: str = ""):
        self.code = code
        message = f"{code.message}: {certificate_id}"
        if new_certificate_id:
            message += f"; 已变更为新版本 {new_certificate_id}"
            self.data = {"newCertificateID": new_certificate_id}
        super().__init__(message)
        self.certificate_id = certificate_id


class CascadeUnreachable(NodeError):
    code = ReturnCode.CASCADE_UNREACHABLE

    def __init__(self, node_id: str, reason: str = ""):
        detail = f": {reason}" if reason else ""
        super().__init__(f"{ReturnCode.CASCADE_UNREACHABLE.message}: {node_id}{detail}")
        self.node_id = node_id


class StoreError(NodeError):
    code = ReturnCode.OTHER


class SealError(NodeError):
    code = ReturnCode.OTHER


class FaultInjected(NodeError):
    code = ReturnCode.OTHER

    def __init__(self, fault: str):
        super().__init__(f"{ReturnCode.OTHER.message}: injected fault {fault}")
        self.fault = fault


class NodeStartFailed(Exception):
    """The node could not listen on its address; the process exits 1 after one log line."""


class LifecycleRefused(Exception):
    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CertificateUnknown(LifecycleRefused):
    http_status = 404


class TransitionUnknown(LifecycleRefused):
    pass


class ReasonMissing(LifecycleRefused):
    pass


class ChangeInvalid(LifecycleRefused):
    pass


class TransitionNotAllowed(LifecycleRefused):
    http_status = 409


class SealMissing(LifecycleRefused):
    http_status = 409


class SealInvalid(LifecycleRefused):
    pass
