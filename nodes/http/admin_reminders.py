"""``GET /admin/reminders[?within=N]``: the certificates of this node expiring within N days
(default: the topology's ``reminders.within_days``), as the reminder job publishes them
(``nodes.reminders``), and when the job last published (``published_at``, with the count).

``POST /admin/reminders/publish`` wakes the job to publish now, not at its next round (202)."""

from __future__ import annotations

from aiohttp import web

from nodes.http.admin import admin_error, check_admin
from nodes.http.middleware import json_response
from nodes.reminders import PUBLISHED_AT, find_reminders

MAX_WITHIN = 3650


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/reminders", list_reminders)
    app.router.add_post("/admin/reminders/publish", publish_now)


async def list_reminders(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    within = request.query.get("within", str(ctx.topology.reminders.within_days))
    try:
        days = int(within)
    except ValueError:
        raise admin_error(400, f"within must be a number of days, not {within[:20]!r}") from None
    if not 0 <= days <= MAX_WITHIN:
        raise admin_error(400, f"within must be between 0 and {MAX_WITHIN} days")
    found = await find_reminders(ctx, days)
    found["published_at"] = await ctx.store.state.get(PUBLISHED_AT)
    return json_response(found)


async def publish_now(request: web.Request) -> web.Response:
    ctx = check_admin(request)
    ctx.wakeups.reminders.set()
    return json_response({"node": ctx.node_id, "publish": "requested"}, status=202)
