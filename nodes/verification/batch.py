"""Batch verification (§8.1.5): many verifications in one request, a result for each row.

A row is a JSON object in one of two forms:
- ``{"CertificateTypeCode", "CertificateData", "CertificateID"?}``: a VerifyCertificate call
  (``CertificateData`` a Table 11 object, or that object as a JSON string; dates may be
  written ``1995年3月1日``, Appendix C.4);
- ``{"VerificationToken"}``: a QR token, checked as ``VerifyQr`` does.
Each row is validated and answered on its own, along the cascade (at most ``CONCURRENCY`` at
once): a broken row gets its own code and message (12, 15, …) and the others go through. A row
that is not a JSON object at all (a line the client could not read: pass its text) is 15.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.core.protocol import ReturnCode
from nodes.call import Answer, MethodCall, Relayed, Resolver
from nodes.errors import NodeError
from nodes.sharing.params import parse_params
from nodes.verification.check import verify_qr

CONCURRENCY = 8
MAX_ROWS = 10_000
BATCH_ACCOUNT = "admin"  # the batch form is the admin API's
_PLACEHOLDER_TOKEN = "0" * 32  # the admin is authenticated by its key; forwards use the node's


@dataclass(frozen=True, slots=True)
class RowResult:
    row: int  # 1-based, in the order given
    method: str  # VerifyCertificate or VerifyQr (what the audit log records)
    code: ReturnCode
    message: str
    verify_result: str  # "true" or "false"
    certificate_id: str = ""
    route: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "status": str(int(self.code)),
            "message": self.message,
            "verifyResult": self.verify_result,
            "certificateID": self.certificate_id,
            "route": ",".join(self.route),
        }


async def verify_batch(
    resolver: Resolver,
    rows: Sequence[object],
    *,
    use_for: str,
    request_id: str,
    peer_ip: str,
    on_result: Callable[[RowResult], None] | None = None,
) -> list[RowResult]:
    """A result for every row, in order; ``on_result`` sees each as it is known. Every row's
    lookups carry the batch's ``request_id``, so one id finds them all in the audit logs."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int, row: object) -> RowResult:
        async with gate:
            result = await _verify_row(
                resolver,
                index,
                row,
                use_for=use_for,
                request_id=request_id,
                peer_ip=peer_ip,
            )
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(i, row) for i, row in enumerate(rows, start=1))))


async def _verify_row(
    resolver: Resolver, index: int, row: object, *, use_for: str, request_id: str, peer_ip: str
) -> RowResult:
    if not isinstance(row, dict):
        shown = str(row)[:80]
        return _refused(index, "VerifyCertificate", f"row {index} is not a JSON object: {shown!r}")
    if "VerificationToken" in row:
        token = row["VerificationToken"]
        if not isinstance(token, str):
            return _refused(index, "VerifyQr", "VerificationToken must be a string")
        answer = await verify_qr(resolver, token, request_id=request_id, peer_ip=peer_ip)
        return _result(index, "VerifyQr", answer)
    raw = {"AccountId": BATCH_ACCOUNT, "AccessToken": _PLACEHOLDER_TOKEN, "UseFor": use_for, **row}
    try:
        params = parse_params("VerifyCertificate", raw)
    except NodeError as exc:
        return RowResult(
            index,
            "VerifyCertificate",
            exc.code,
            exc.message,
            "false",
            str(row.get("CertificateID") or "")[:120],
        )
    call = MethodCall(
        method="VerifyCertificate",
        params=params,
        account_id=BATCH_ACCOUNT,
        peer_ip=peer_ip,
        request_id=request_id,
    )
    reply = await resolver(call)
    answer = reply.parsed() if isinstance(reply, Relayed) else reply
    return _result(index, "VerifyCertificate", answer, params.get("CertificateID", ""))


def _refused(index: int, method: str, reason: str) -> RowResult:
    code = ReturnCode.INVALID_PARAMETER
    return RowResult(index, method, code, f"{code.message}: {reason}", "false")


def _result(index: int, method: str, answer: Answer, certificate_id: str = "") -> RowResult:
    data = answer.data if isinstance(answer.data, dict) else {}
    verified = data.get("verifyResult") == "true" and answer.code is ReturnCode.SUCCESS
    return RowResult(
        index,
        method,
        answer.code,
        answer.message or answer.code.message,
        "true" if verified else "false",
        str(data.get("certificateID") or certificate_id),
        tuple(answer.route),
    )
