"""``POST /admin/verify/batch``: batch verification (§8.1.5) through the admin API.

Body ``{"rows": [...], "UseFor": "..."}`` (rows as ``nodes.verification.batch`` reads them, at
most ``MAX_ROWS``); answer ``{"node", "total", "verified", "results": [{"row", "status",
"message", "verifyResult", "certificateID", "route"}, ...]}`` in the rows' order. A broken row
is a result, never a refusal of the batch: only a body that is not such an object is 400. Each
row is one audit row (method ``VerifyCertificate`` or ``VerifyQr``, account ``admin``,
``detail`` ``batch row N``), beside the admin action's own.
"""

from __future__ import annotations

from aiohttp import web

from nodes.http.admin import admin_error, check_admin, json_body
from nodes.http.keys import CONTEXT, RESOLVER
from nodes.http.middleware import REQUEST_ID, json_response
from nodes.sharing.params import MAX_USE_FOR
from nodes.store.audit import AuditRecord
from nodes.verification.batch import BATCH_ACCOUNT, MAX_ROWS, RowResult, verify_batch

DEFAULT_USE_FOR = "批量核验"


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/verify/batch", verify_rows)


async def verify_rows(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    body = await json_body(request)
    rows, use_for = body.get("rows"), body.get("UseFor") or DEFAULT_USE_FOR
    if not isinstance(rows, list):
        raise admin_error(400, "rows must be a list (one JSON object per verification)")
    if len(rows) > MAX_ROWS:
        raise admin_error(400, f"at most {MAX_ROWS} rows a batch, not {len(rows)}")
    if not isinstance(use_for, str) or len(use_for) > MAX_USE_FOR:
        raise admin_error(400, f"UseFor must be a string of at most {MAX_USE_FOR} characters")
    request_id, peer_ip = request[REQUEST_ID], request.remote or ""

    def audit(result: RowResult) -> None:
        ctx.store.audit_log.record(
            AuditRecord(
                time=ctx.clock.stamp(),
                request_id=request_id,
                account_id=BATCH_ACCOUNT,
                peer_ip=peer_ip,
                method=result.method,
                use_for=use_for,
                status=str(int(result.code)),
                route=",".join(result.route) or ctx.node_id,
                detail=f"batch row {result.row}: {result.certificate_id}"[:500],
            )
        )

    results = await verify_batch(
        request.app[RESOLVER],
        rows,
        use_for=use_for,
        request_id=request_id,
        peer_ip=peer_ip,
        on_result=audit,
    )
    verified = sum(result.verify_result == "true" for result in results)
    return json_response(
        {
            "node": request.app[CONTEXT].node_id,
            "total": len(results),
            "verified": verified,
            "results": [result.public() for result in results],
        }
    )
