"""Checking a QR verification token along the cascade (``VerifyQr``, §8.4.2).

``verify_qr`` reads the token (15 when it is not one), looks its certificate up by ID with
``GetCertificateDataByCertificateID`` through the node's resolver (so the owner may be anywhere
in the network, SPEC §5), and compares the data's digest with the token's:

- 0 with ``verifyResult`` ``"true"``: the certificate exists, is current (status 01, inside its
  validity) and its data is the data the token was made for;
- 10: no such certificate, or its data is not the token's (``reason`` says which);
- 21 / 22 / 23: cancelled or revoked (``newCertificateID`` when a change replaced it), expired,
  restricted; 30 / 31 / 32 as the cascade answers them.
Every answer but 0 carries ``verifyResult`` ``"false"``.
"""

from __future__ import annotations

from typing import Any

from gateway.core.protocol import ReturnCode
from nodes.call import Answer, MethodCall, Relayed, Resolver
from nodes.verification.token import TokenInvalid, data_digest, read_token

QR_ACCOUNT = "VerifyQr"  # the account a public check is made under (it has none of its own)
QR_USE_FOR = "VerifyQr 现场核验"  # what the owner's audit log records as the purpose
SHOWN_KEYS = (
    "certificateName",
    "certificateType",
    "certificateHolder",
    "issueDept",
    "certificateNumber",
    "issueDate",
    "certificateValidateStart",
    "certificateValidateEnd",
)


def _false(certificate_id: str, **extra: Any) -> dict[str, Any]:
    return {"verifyResult": "false", "certificateID": certificate_id, **extra}


async def verify_qr(resolver: Resolver, text: str, *, request_id: str, peer_ip: str) -> Answer:
    """The VerifyQr answer for the token ``text``; the route is the lookup's."""
    try:
        token = read_token(text)
    except TokenInvalid as exc:
        code = ReturnCode.INVALID_PARAMETER
        return Answer(code, _false(""), f"{code.message}: VerificationToken: {exc}")
    call = MethodCall(
        method="GetCertificateDataByCertificateID",
        params={"CertificateID": token.certificate_id, "UseFor": QR_USE_FOR},
        account_id=QR_ACCOUNT,
        peer_ip=peer_ip,
        request_id=request_id,
    )
    answer = await resolver(call)
    if isinstance(answer, Relayed):
        answer = answer.parsed()
    found = answer.data if isinstance(answer.data, dict) else {}
    if answer.code is not ReturnCode.SUCCESS:
        extra = (
            {"newCertificateID": found["newCertificateID"]} if "newCertificateID" in found else {}
        )
        data = _false(token.certificate_id, **extra)
        return Answer(answer.code, data, answer.message, answer.route, answer.timings)
    items = found.get("dataList") or [{}]
    item = items[0] if isinstance(items[0], dict) else {}
    if data_digest(item) != token.digest:
        code = ReturnCode.NOT_FOUND
        reason = "the certificate's data is not the data this token was made for"
        data = _false(token.certificate_id, reason=reason)
        return Answer(code, data, f"{code.message}: {reason}", answer.route, answer.timings)
    shown = {key: item.get(key, "") for key in SHOWN_KEYS}
    data = {"verifyResult": "true", "certificateID": token.certificate_id, **shown}
    return Answer(ReturnCode.SUCCESS, data, None, answer.route, answer.timings)
