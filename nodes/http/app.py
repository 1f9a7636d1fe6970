"""The node's aiohttp application: routes, middleware, collaborators passed in."""

from __future__ import annotations

from aiohttp import web

from nodes.context import NodeContext, Resolver
from nodes.http import admin, admin_catalog, admin_faults, faults, files, health, openapi, sharing
from nodes.http.keys import CONTEXT, RESOLVER
from nodes.http.middleware import envelope_middleware

MAX_BODY = 1024 * 1024  # 1 MiB


def create_app(ctx: NodeContext, *, resolver: Resolver) -> web.Application:
    """The node app. ``resolver`` answers an authenticated call: locally or along the cascade."""
    app = web.Application(middlewares=[envelope_middleware], client_max_size=MAX_BODY)
    app[CONTEXT] = ctx
    app[RESOLVER] = resolver
    sharing.setup(app, ctx)  # access checks and the audit log (flushed in cleanup_ctx)
    path = ctx.topology.path
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get(f"{path}/openapi.json", openapi.openapi_json)
    app.router.add_get(f"{path}/file{{token:[0-9A-F]{{32}}}}.{{ext:ofd|pdf|zip}}", files.download)
    app.router.add_route("*", f"{path}/{{method}}", sharing.call_method)
    admin.add_routes(app)
    admin_catalog.add_routes(app)
    admin_faults.add_routes(app)
    faults.setup(app)  # timed faults heal on time
    return app
