"""``GET /metrics``: the node's Prometheus metrics in the text format (``nodes.metrics``).

Open like ``/healthz`` (a scraper holds no admin key); it shows counts and times, no record.
The store's figures are read for each scrape, the counters are the request path's own.
"""

from __future__ import annotations

from aiohttp import web

from nodes.http.keys import CONTEXT, METRICS
from nodes.metrics import CONTENT_TYPE, StoreFigures
from nodes.store.batches import LAST_EXCHANGE_AT


async def metrics(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    store = ctx.store
    figures = StoreFigures(
        certificates=await store.certificates.count(),
        catalog_rows=await store.catalog.count(),
        outbox_pending=await store.outbox.pending(),
        open_anomalies=await store.anomalies.open_count(),
        anomaly_relays_pending=await store.anomalies.relays_pending(),
        last_exchange_at=await store.state.get(LAST_EXCHANGE_AT),
        faults_active=len(ctx.faults.table.held()),
    )
    body = request.app[METRICS].scraped(figures)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
