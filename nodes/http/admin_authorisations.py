"""The admin API of authorisation and my certificates (§8.1.2–§8.1.4; ``nodes.authorisation``).

- ``POST /admin/authorisations`` at the node holding the certificate, with ``{"CertificateID",
  "grantor": {"code", "name"}, "grantee": {"code", "name"}, "reason"}``: 201 and the grant;
  refused (400 invalid/self, 403 not-holder, 404 unknown, 409 unusable/duplicate) with
  ``{"error", "reason"}`` and nothing changed.
- ``POST /admin/authorisations/{id}/withdraw`` with ``{"reason"}``: the withdrawn grant.
- ``GET /admin/authorisations[?holder=CODE][&active=1]``: the grants made here, newest first.
- ``GET /admin/holders/{code}/certificates?name=NAME``: my certificates, at any node: what the
  holder holds across the network and what is authorised to them.
Every change, refused ones included, is in the audit log (``admin_audit``).
"""

from __future__ import annotations

import orjson
from aiohttp import web

from nodes.authorisation.errors import AuthorisationRefused
from nodes.authorisation.grants import MAX_TEXT, Holder, authorise, withdraw
from nodes.authorisation.honour import my_certificates
from nodes.call import MethodCall
from nodes.http.admin import admin_error, check_admin, json_body
from nodes.http.keys import RESOLVER
from nodes.http.middleware import REQUEST_ID, json_response

ADMIN_ACCOUNT = "admin"
MY_CERTIFICATES_USE_FOR = "我的证照"


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/authorisations", create_grant)
    app.router.add_get("/admin/authorisations", list_grants)
    app.router.add_post("/admin/authorisations/{grant_id}/withdraw", withdraw_grant)
    app.router.add_get("/admin/holders/{holder_code}/certificates", holder_certificates)


def _refused(exc: AuthorisationRefused) -> web.HTTPException:
    """The admin error body, with the refusal's stable ``reason`` beside the message."""
    body = orjson.dumps({"error": exc.message, "reason": exc.reason}).decode()
    error = web.HTTPException(text=body, content_type="application/json")
    error.set_status(exc.http_status)
    return error


def _reason(body: dict[str, object]) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_TEXT:
        raise admin_error(400, f"reason must be a string of at most {MAX_TEXT} characters")
    return reason


def _holder(body: dict[str, object], role: str) -> Holder:
    value = body.get(role)
    part = value if isinstance(value, dict) else {}
    return Holder.of(role, part.get("code"), part.get("name"))


async def create_grant(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    body = await json_body(request)
    certificate_id = body.get("CertificateID")
    if not isinstance(certificate_id, str) or not certificate_id:
        raise admin_error(400, "CertificateID is required")
    try:
        grantor, grantee = _holder(body, "grantor"), _holder(body, "grantee")
        grant = await authorise(ctx, certificate_id, grantor, grantee, reason=_reason(body))
    except AuthorisationRefused as exc:
        raise _refused(exc) from None
    return json_response(grant.public(), status=201)


async def withdraw_grant(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    body = await json_body(request)
    try:
        grant_id = int(request.match_info["grant_id"])
    except ValueError:
        raise admin_error(404, "an authorisation id is a number") from None
    try:
        grant = await withdraw(ctx, grant_id, reason=_reason(body))
    except AuthorisationRefused as exc:
        raise _refused(exc) from None
    return json_response(grant.public())


async def list_grants(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    holder = request.query.get("holder") or None
    active = request.query.get("active", "").lower() in ("1", "true", "yes")
    grants = await ctx.store.authorisations.listing(holder_code=holder, active_only=active)
    return json_response({"node": ctx.node_id, "authorisations": [g.public() for g in grants]})


async def holder_certificates(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    code, name = request.match_info["holder_code"], request.query.get("name", "").strip()
    if not name or len(name) > MAX_TEXT or len(code) > MAX_TEXT:
        raise admin_error(400, "name (the holder's name, as certificates record it) is required")
    call = MethodCall(
        method="Retrieval",
        params={"CertificateHolderCode": code, "UseFor": MY_CERTIFICATES_USE_FOR},
        account_id=ADMIN_ACCOUNT,
        peer_ip=request.remote or "",
        request_id=request[REQUEST_ID],
    )
    found = await my_certificates(request.app[RESOLVER], ctx.store.authorisations, call, name=name)
    return json_response({"node": ctx.node_id, **found})
