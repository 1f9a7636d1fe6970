"""The admin API of e-seals (nodes.seals): ``POST /admin/seals`` creates an SM2 key pair and seal
record for an authority issuing at this node, ``GET /admin/seals`` lists the seals known here.

``POST`` takes ``{"CertificateIssuingAuthorityName", "CertificateIssuingAuthorityCode"}`` and
optionally ``SealName``, ``validFrom``, ``validTo`` (dates); it answers the seal record (never the
private key, which stays in ``<state>/<node>/seals/``). ``GET ?node=ID`` lists the seals held at
one node (``?node=`` this node: its own); without it every seal known here, those learnt from
the subtree included.
"""

from __future__ import annotations

from aiohttp import web

from nodes.errors import LifecycleRefused
from nodes.http.admin import admin_error, check_admin, json_body
from nodes.http.middleware import json_response
from nodes.seals.sealing import create_seal

_TEXT_FIELDS = (
    "CertificateIssuingAuthorityName",
    "CertificateIssuingAuthorityCode",
    "SealName",
    "validFrom",
    "validTo",
)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/seals", list_seals)
    app.router.add_post("/admin/seals", add_seal)


async def list_seals(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    node = request.query.get("node") or None
    seals = await ctx.store.seals.all(node=node)
    return json_response([seal.to_record() for seal in seals])


async def add_seal(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    body = await json_body(request)
    unknown = sorted(set(body) - set(_TEXT_FIELDS))
    if unknown:
        raise admin_error(400, f"unknown fields: {', '.join(unknown)}")
    for name in _TEXT_FIELDS:
        if not isinstance(body.get(name, ""), str):
            raise admin_error(400, f"{name} must be a string")
    name = body.get("CertificateIssuingAuthorityName", "").strip()
    code = body.get("CertificateIssuingAuthorityCode", "").strip()
    if not name or not code:
        raise admin_error(
            400, "CertificateIssuingAuthorityName and CertificateIssuingAuthorityCode are required"
        )
    try:
        seal = await create_seal(
            ctx,
            authority_name=name,
            authority_code=code,
            seal_name=body.get("SealName", "").strip(),
            valid_from=body.get("validFrom", "").strip(),
            valid_to=body.get("validTo", "").strip(),
        )
    except LifecycleRefused as exc:
        raise admin_error(exc.http_status, exc.message) from None
    return json_response(seal.to_record(), status=201)
