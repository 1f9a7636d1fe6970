"""The node's aiohttp application: routes, middleware, collaborators passed in."""

from __future__ import annotations

from aiohttp import web

from nodes.call import Resolver
from nodes.context import NodeContext
from nodes.http import (
    admin,
    admin_audit,
    admin_authorisations,
    admin_catalog,
    admin_certificates,
    admin_faults,
    admin_reminders,
    admin_seals,
    admin_verify,
    body,
    faults,
    files,
    health,
    openapi,
    scrape,
    sharing,
    verify_qr,
)
from nodes.http.keys import CONTEXT, FILE_RELAY, METRICS, RESOLVER
from nodes.http.listener import head_met
from nodes.http.middleware import REQUEST_IDS, RequestIds, envelope_middleware
from nodes.metrics import NodeMetrics
from nodes.relay import FileRelay


def create_app(
    ctx: NodeContext,
    *,
    resolver: Resolver,
    file_relay: FileRelay,
    metrics: NodeMetrics | None = None,
) -> web.Application:
    """The node app. ``resolver`` answers an authenticated call: locally or along the cascade;
    ``file_relay`` serves the fileUrls that name a file further along it; ``metrics`` are the
    node's (shared with its metered neighbours), new ones when not given."""
    app = web.Application(
        middlewares=[head_met, envelope_middleware, admin_audit.audit_admin_actions],
        client_max_size=body.MAX_BODY,
    )
    app[REQUEST_IDS] = RequestIds()
    app[CONTEXT] = ctx
    app[RESOLVER] = resolver
    app[FILE_RELAY] = file_relay
    app[METRICS] = metrics or node_metrics(ctx)
    sharing.setup(app, ctx)  # access checks and the audit log (flushed in cleanup_ctx)
    path = ctx.topology.path
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", scrape.metrics)
    app.router.add_get(f"{path}/openapi.json", openapi.openapi_json)
    verify_qr.add_routes(app, path)  # public, no account (§8.4.2)
    app.router.add_route("*", f"{path}/file{{name}}", files.download)  # every fileUrl-like path
    app.router.add_route(
        "*", f"{path}/{{method}}", sharing.call_method, expect_handler=body.expect_small_body
    )
    admin.add_routes(app)
    admin_catalog.add_routes(app)
    admin_faults.add_routes(app)
    faults.setup(app)  # timed faults heal on time
    admin_certificates.add_routes(app)
    admin_audit.add_routes(app)
    admin_verify.add_routes(app)  # batch verification (§8.1.5)
    admin_reminders.add_routes(app)  # expiry reminders (§8.3.4)
    admin_authorisations.add_routes(app)  # my certificates, authorisation (§8.1.2-8.1.4)
    admin_seals.add_routes(app)
    return app


def node_metrics(ctx: NodeContext) -> NodeMetrics:
    """New metrics for the node of ``ctx``, its neighbours named for the own-time histogram."""
    neighbours = (node.id for node in ctx.topology.neighbours(ctx.node_id))
    return NodeMetrics(ctx.node_id, neighbours)
