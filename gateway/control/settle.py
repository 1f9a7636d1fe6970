"""Wait until a network has settled: every node healthy and every catalog row at national.

What the counters of ``/admin/status`` prove (SPEC §6.2, §6.3): a parent acknowledges a batch
only after committing it, and a province's commit queues what it applied for its own parent in
the same transaction; a child deletes a batch from its outbox (the E.1 front-end table) only on
that acknowledgement, and only once every E.2 row the acknowledgement counts has arrived. So
when no node below the root has rows in its outbox, every row committed anywhere has reached
national's catalog, or come back as an anomaly to the node that sent it.

Two things make the reading exact:

- Order. Read all at once, a province could be read empty just before its child's batch is
  acknowledged and the child read empty just after, with the rows in flight at the province.
  Nodes are read deepest first, each level after the one below has answered: a child read
  empty has handed everything to its parent before the parent is read.
- Anomalies. A province holding E.2 rows of a child's rows passes them down
  (``anomaly_relays_pending``); the child may answer them with an automatic correction, queued
  after the child was read. So a network has settled after two clean readings in a row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

from gateway.control.errors import NotSettled
from gateway.control.launcher import Launcher
from gateway.control.node_status import NodeStatus
from gateway.control.state import BROKER

POLL_EVERY = 0.1  # seconds between readings (bounded by the deadline)
CLEAN_READINGS = 2  # consecutive clean readings that make a network settled
DEFAULT_TIMEOUT = 120.0  # seconds


@dataclass(frozen=True, slots=True)
class Lag:
    """Why one node (or the broker) keeps the network from having settled."""

    name: str
    reason: str

    def __str__(self) -> str:
        label = "the broker" if self.name == BROKER else self.name
        return f"{label}: {self.reason}"


ProgressCallback = Callable[[list[Lag]], None]


async def read_lags(launcher: Launcher) -> list[Lag]:
    """One reading, deepest nodes first; [] when the network has settled as far as it shows."""
    topology = launcher.topology
    lags: list[Lag] = []
    broker = launcher.broker_status()
    if broker.embedded and not broker.alive:
        lags.append(Lag(BROKER, f"the embedded broker at {broker.url} is not running"))
    depth = {node.id: len(topology.ancestors(node.id)) for node in topology.nodes}
    by_depth = sorted(topology.nodes, key=lambda node: -depth[node.id])
    for _, level in groupby(by_depth, key=lambda node: depth[node.id]):
        for status in await launcher.status([node.id for node in level]):
            lags.extend(_lags_of(launcher, status))
    order = {node.id: index for index, node in enumerate(topology.nodes)}
    return sorted(lags, key=lambda lag: order.get(lag.name, -1))


def _lags_of(launcher: Launcher, status: NodeStatus) -> list[Lag]:
    if not status.healthy:
        return [Lag(status.id, f"not healthy ({status.error or 'not ready'})")]
    lags = []
    parent = launcher.topology.parent(status.id)
    if status.outbox_pending and parent is not None:
        rows = status.outbox_pending
        lags.append(Lag(status.id, f"{rows} catalog row(s) not yet acknowledged by {parent.id}"))
    if status.anomaly_relays_pending:
        relays = status.anomaly_relays_pending
        lags.append(Lag(status.id, f"{relays} anomaly row(s) not yet passed down to a child"))
    return lags


async def wait_settled(
    launcher: Launcher,
    *,
    within: float = DEFAULT_TIMEOUT,
    progress: ProgressCallback | None = None,
) -> None:
    """Return once the network has settled; ``NotSettled`` naming the laggards after
    ``within`` seconds. ``progress`` hears every reading that is not clean."""
    deadline = time.monotonic() + within
    clean = 0
    while True:
        lags = await read_lags(launcher)
        clean = 0 if lags else clean + 1
        if clean >= CLEAN_READINGS:
            return
        if lags and progress is not None:
            progress(lags)
        if lags and time.monotonic() > deadline:
            raise NotSettled(
                f"network {launcher.topology.network} has not settled within {within:g} s: "
                + "; ".join(str(lag) for lag in lags),
                laggards=tuple(dict.fromkeys(lag.name for lag in lags)),
            )
        await asyncio.sleep(POLL_EVERY)
