"""What ``ecert status`` shows of a node and of the broker, and how a node is asked for it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from gateway.control.admin_client import AdminClient
from gateway.control.errors import AdminError
from gateway.control.state import StateDir
from gateway.core.topology import Topology


@dataclass(frozen=True)
class NodeStatus:
    """One node as ``ecert status`` shows it."""

    id: str
    tier: str
    url: str
    pid: int | None
    alive: bool
    healthy: bool
    certificates: int | None = None
    catalog_rows: int | None = None
    outbox_pending: int | None = None
    open_anomalies: int | None = None
    anomaly_relays_pending: int | None = None
    last_exchange_at: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BrokerStatus:
    url: str
    embedded: bool
    pid: int | None
    alive: bool


async def node_status(
    topology: Topology,
    state: StateDir,
    node_id: str,
    *,
    pid: int | None,
    session: aiohttp.ClientSession,
) -> NodeStatus:
    """The node's health and the counters of its /admin/status; ``pid``: its process, if alive."""
    node = topology.node(node_id)
    base: dict[str, Any] = {"id": node.id, "tier": str(node.tier), "url": node.url}
    admin = AdminClient(topology, state, node_id, session=session)
    try:
        health = await admin.healthz()
    except AdminError as exc:
        return NodeStatus(**base, pid=pid, alive=pid is not None, healthy=False, error=str(exc))
    healthy = is_ready(health, node_id, None)
    try:
        status = await admin.status()
    except AdminError as exc:
        return NodeStatus(**base, pid=pid, alive=pid is not None, healthy=healthy, error=str(exc))
    return NodeStatus(
        **base,
        pid=pid or _int_or_none(status.get("pid")),
        alive=pid is not None,
        healthy=healthy,
        certificates=_int_or_none(status.get("certificates")),
        catalog_rows=_int_or_none(status.get("catalog_rows")),
        outbox_pending=_int_or_none(status.get("outbox_pending")),
        open_anomalies=_int_or_none(status.get("open_anomalies")),
        anomaly_relays_pending=_int_or_none(status.get("anomaly_relays_pending")),
        last_exchange_at=status.get("last_exchange_at"),
    )


def is_ready(health: Any, node_id: str, pid: int | None) -> bool:
    """Whether a /healthz answer says this node (and this process, if ``pid``) is ready."""
    if not isinstance(health, dict) or health.get("status") != "ready":
        return False
    if health.get("node", node_id) != node_id:
        return False  # someone else answers at this address
    return pid is None or health.get("pid", pid) == pid


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
