"""The admin API of a node's fault table (issue #12; ``nodes.faults``, ``gateway.core.faults``).

``admin.check_admin`` guards it. ``POST /admin/faults/catalog-row``, which queues a bad catalog row,
is ``nodes.http.admin_catalog``'s.

- ``GET /admin/faults``: ``{"node", "faults": [rule..., "remaining_s": seconds left or null]}``
- ``POST /admin/faults``: one rule (``gateway.core.faults.FaultRule``; ``id`` optional) → 201;
  400 for a rule the node cannot hold, 409 for an id held already
- ``GET`` / ``DELETE /admin/faults/{id}``: one rule; DELETE heals it (404 when not held)
- ``DELETE /admin/faults``: heal every rule → ``{"cleared": [ids]}``
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from gateway.core.faults import FaultRule
from nodes.faults import FaultRefused
from nodes.http.admin import admin_error, check_admin, json_body
from nodes.http.middleware import json_response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/faults", list_faults)
    app.router.add_post("/admin/faults", add_fault)
    app.router.add_delete("/admin/faults", clear_faults)
    app.router.add_get("/admin/faults/{fault_id}", get_fault)
    app.router.add_delete("/admin/faults/{fault_id}", clear_fault)


async def list_faults(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    faults = ctx.faults
    faults.heal_expired()
    held = [faults.view(entry) for entry in faults.table.held()]
    return json_response({"node": ctx.node_id, "faults": held})


async def add_fault(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    body = await json_body(request)
    if "id" not in body:
        body["id"] = ctx.faults.new_id()
    try:
        rule = FaultRule.model_validate(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        raise admin_error(400, f"{where + ': ' if where else ''}{error['msg']}") from None
    try:
        held = ctx.faults.add(rule)
    except FaultRefused as exc:
        raise admin_error(exc.status, str(exc)) from None
    return json_response(ctx.faults.view(held), status=201)


async def get_fault(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    fault_id = request.match_info["fault_id"]
    held = ctx.faults.table.get(fault_id)
    if held is None:
        raise admin_error(404, f"{ctx.node_id} holds no fault {fault_id}")
    return json_response(ctx.faults.view(held))


async def clear_fault(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    fault_id = request.match_info["fault_id"]
    held = ctx.faults.table.get(fault_id)
    if held is None or ctx.faults.remove(fault_id) is None:
        raise admin_error(404, f"{ctx.node_id} holds no fault {fault_id}")
    return json_response(ctx.faults.view(held))


async def clear_faults(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    return json_response({"cleared": [held.rule.id for held in ctx.faults.clear()]})
