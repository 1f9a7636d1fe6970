"""The ``request.handled`` event of each call of the ten methods (``gateway.core.events``).

Captured when the call ends, stamped with its arrival: route and timings go in as the answer
carried them (a relayed ``Server-Timing`` stays text until the event log's flush parses it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gateway.core.faults import Injected
from nodes.context import NodeContext

if TYPE_CHECKING:
    from nodes.http.sharing import _Trail


def request_handled(
    ctx: NodeContext, trail: _Trail, arrived: float, injected: Injected | None
) -> None:
    ctx.events.emit(
        "request.handled",
        at=arrived,
        request_id=trail.request_id,
        method=trail.method,
        status=int(trail.status),
        account=trail.account_id or None,
        caller=trail.caller or None,
        peer_ip=trail.peer_ip,
        route=trail.route.split(",") if trail.route else [ctx.node_id],
        timings=trail.timings or trail.timing_header or None,
        ms=(time.time() - arrived) * 1000,
        fault=injected.fault if injected is not None else None,
        explain=True if trail.explain else None,  # an explain call: the plan, nothing fetched
    )
