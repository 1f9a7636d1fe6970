"""Exceptions of the gateway's ground floor (what nodes import).

GatewayError
├── TopologyError          the topology file is unreadable or invalid (``.line`` when known)
├── ForwardError           a forward to a neighbour failed
│   ├── NeighbourUnreachable   connection refused/reset or deadline passed (``.node_id``)
│   └── NeighbourRejected      the neighbour refused our credentials (``.node_id``, ``.status``)
└── ExchangeError          the MQTT exchange failed in a way a retry will not mend
    └── ExchangeUnavailable    no live broker connection, or the broker did not acknowledge in
                               time; retrying later may succeed (``.broker``, "host:port")

The operator's tools raise theirs under the same base (``gateway.control.errors``).
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every gateway exception."""


class TopologyError(GatewayError):
    def __init__(self, message: str, *, line: int | None = None, node_id: str | None = None):
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{message}")
        self.line = line
        self.node_id = node_id


class ForwardError(GatewayError):
    def __init__(self, message: str, *, node_id: str):
        super().__init__(f"{node_id}: {message}")
        self.node_id = node_id


class NeighbourUnreachable(ForwardError):
    """The neighbour did not answer within the deadline."""


class NeighbourRejected(ForwardError):
    def __init__(self, message: str, *, node_id: str, status: str):
        super().__init__(message, node_id=node_id)
        self.status = status


class ExchangeError(GatewayError):
    """The exchange cannot go on (bad broker URL, a payload that is not ours)."""


class ExchangeUnavailable(ExchangeError):
    """The broker cannot be reached now; unlike its base, a later retry may succeed."""

    def __init__(self, message: str, *, broker: str):
        super().__init__(f"{broker}: {message}")
        self.broker = broker
