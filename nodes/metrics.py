"""A node's Prometheus metrics (``GET /metrics``): the one module that imports prometheus_client.

Each node has its own ``CollectorRegistry`` (never the library's global one: several nodes may
share a process, and no module keeps state). Counters and histograms move on the request path
(``requested``) and on every forward (``MeteredNeighbours``); what the store knows (certificates,
catalog rows, outbox, anomalies, last exchange) is read when a scrape arrives (``scraped``).

- ``ecert_requests_total{method,code}``: calls answered by this node, by §7.3 method and return
  code (SPEC §3.4);
- ``ecert_forwards_total{neighbour,outcome}``: calls this node forwarded, by neighbour and the
  code it answered (``unreachable`` when it did not);
- ``ecert_request_duration_seconds{method}``: the whole time of a call at this node;
- ``ecert_request_own_duration_seconds{method}``: that time less the time waited on neighbours
  (the longest neighbour entry of the answer's Server-Timing);
- ``ecert_forward_duration_seconds{neighbour}``: the time one forward waited on its neighbour;
- gauges ``ecert_certificates``, ``ecert_catalog_rows``, ``ecert_outbox_pending``,
  ``ecert_open_anomalies``, ``ecert_anomaly_relays_pending``,
  ``ecert_last_exchange_timestamp_seconds`` (0 before the first exchange), ``ecert_faults_active``
  (the injected faults the node holds in force).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from gateway.core.forwarder import FetchedFile, Reply
from gateway.core.protocol import METHODS

if TYPE_CHECKING:
    from gateway.core.neighbours import Neighbours

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format generate_latest writes
# a call takes from a millisecond (local) to its deadline (10 s by default, 60 s at most)
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """What the store says at scrape time (the same figures as ``/admin/status``)."""

    certificates: int
    catalog_rows: int
    outbox_pending: int
    open_anomalies: int
    anomaly_relays_pending: int
    last_exchange_at: str | None
    faults_active: int = 0  # rules of the node's fault table in force


class NodeMetrics:
    """The metrics of one node, in a registry of its own."""

    def __init__(self, node_id: str, neighbours: Iterable[str]) -> None:
        self.node_id = node_id
        self.neighbours = frozenset(neighbours)
        self.registry = registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "ecert_requests", "Calls answered, by method and return code",
            ["method", "code"], registry=registry,
        )  # fmt: skip
        self.forwards = Counter(
            "ecert_forwards", "Calls forwarded, by neighbour and outcome",
            ["neighbour", "outcome"], registry=registry,
        )  # fmt: skip
        self.total_seconds = Histogram(
            "ecert_request_duration_seconds", "Whole time of a call at this node",
            ["method"], buckets=BUCKETS, registry=registry,
        )  # fmt: skip
        self.own_seconds = Histogram(
            "ecert_request_own_duration_seconds", "Time of a call here less its waits",
            ["method"], buckets=BUCKETS, registry=registry,
        )  # fmt: skip
        self.forward_seconds = Histogram(
            "ecert_forward_duration_seconds", "Time a forward waited on its neighbour",
            ["neighbour"], buckets=BUCKETS, registry=registry,
        )  # fmt: skip
        self._gauges = {
            name: Gauge(f"ecert_{name}", text, registry=registry)
            for name, text in (
                ("certificates", "Certificates held by this node"),
                ("catalog_rows", "Rows of this node's catalog (its own and those aggregated)"),
                ("outbox_pending", "Catalog rows waiting to be sent up"),
                ("open_anomalies", "Catalog anomalies not yet resolved"),
                ("anomaly_relays_pending", "Anomalies waiting to be relayed down"),
                ("last_exchange_timestamp_seconds", "Unix time of the last catalog exchange"),
                ("faults_active", "Injected faults this node holds in force"),
            )
        }

    def requested(
        self, method: str, code: int, seconds: float, timings: Iterable[tuple[str, float]]
    ) -> None:
        """One call answered; ``timings`` are the answer's Server-Timing entries (ms)."""
        waited_ms = max((ms for node, ms in timings if node in self.neighbours), default=0.0)
        method = method if method in METHODS else "unknown"  # the path is the caller's words
        self.requests.labels(method, str(code)).inc()
        self.total_seconds.labels(method).observe(seconds)
        self.own_seconds.labels(method).observe(max(seconds - waited_ms / 1000, 0.0))

    def forwarded(self, neighbour: str, outcome: str, seconds: float) -> None:
        self.forwards.labels(neighbour, outcome).inc()
        self.forward_seconds.labels(neighbour).observe(seconds)

    def scraped(self, figures: StoreFigures) -> bytes:
        """The text exposition, the store's gauges set to ``figures``."""
        gauges = self._gauges
        gauges["certificates"].set(figures.certificates)
        gauges["catalog_rows"].set(figures.catalog_rows)
        gauges["outbox_pending"].set(figures.outbox_pending)
        gauges["open_anomalies"].set(figures.open_anomalies)
        gauges["anomaly_relays_pending"].set(figures.anomaly_relays_pending)
        gauges["last_exchange_timestamp_seconds"].set(_timestamp(figures.last_exchange_at))
        gauges["faults_active"].set(figures.faults_active)
        return generate_latest(self.registry)

    def metered(self, neighbours: Neighbours) -> MeteredNeighbours:
        return MeteredNeighbours(neighbours, self)


class MeteredNeighbours:
    """The node's neighbours (the Forwarder), counting and timing every forward."""

    def __init__(self, neighbours: Neighbours, metrics: NodeMetrics) -> None:
        self._neighbours = neighbours
        self._metrics = metrics

    async def forward(
        self,
        neighbour_id: str,
        method: str,
        params: dict[str, str],
        *,
        request_id: str,
        route: list[str],
        hops: int,
        deadline_ms: float,
        caller: str,
        explain: bool = False,
    ) -> Reply:
        started = time.perf_counter()
        outcome = UNREACHABLE
        try:
            reply = await self._neighbours.forward(
                neighbour_id, method, params, request_id=request_id, route=route, hops=hops,
                deadline_ms=deadline_ms, caller=caller, explain=explain,
            )  # fmt: skip
            head = reply.envelope.get("head")
            outcome = str(head.get("status"))[:8] if isinstance(head, dict) else "malformed"
            return reply
        finally:
            self._metrics.forwarded(neighbour_id, outcome, time.perf_counter() - started)

    async def fetch_file(self, url: str, *, node_id: str, deadline_ms: float) -> FetchedFile:
        return await self._neighbours.fetch_file(url, node_id=node_id, deadline_ms=deadline_ms)


def _timestamp(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return 0.0
