"""Refusals of an authorisation (admin API: ``.http_status``, ``.reason`` a stable word, the
message says what to change). Nothing is changed by a refused request.

AuthorisationRefused
├── GrantInvalid           400 invalid    a holder code or name missing or too long
├── SelfAuthorisation      400 self       the grantee is the grantor
├── CertificateNotHeld     404 unknown    no such certificate at this node
├── NotTheHolder           403 not-holder the grantor is not the certificate's holder
├── CertificateNotUsable   409 unusable   the certificate is not 01 (cancelled, revoked, …)
├── AlreadyAuthorised      409 duplicate  an active grant of it to the grantee exists
├── GrantUnknown           404 unknown    no such grant at this node
└── AlreadyWithdrawn       409 withdrawn  the grant was withdrawn before
"""

from __future__ import annotations


class AuthorisationRefused(Exception):
    http_status = 400
    reason = "invalid"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class GrantInvalid(AuthorisationRefused):
    pass


class SelfAuthorisation(AuthorisationRefused):
    reason = "self"


class CertificateNotHeld(AuthorisationRefused):
    http_status, reason = 404, "unknown"


class NotTheHolder(AuthorisationRefused):
    http_status, reason = 403, "not-holder"


class CertificateNotUsable(AuthorisationRefused):
    http_status, reason = 409, "unusable"


class AlreadyAuthorised(AuthorisationRefused):
    http_status, reason = 409, "duplicate"


class GrantUnknown(AuthorisationRefused):
    http_status, reason = 404, "unknown"


class AlreadyWithdrawn(AuthorisationRefused):
    http_status, reason = 409, "withdrawn"
