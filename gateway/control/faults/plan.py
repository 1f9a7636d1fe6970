"""Where a fault goes in a network (pure): checked against the topology, then turned into the
rules each node's fault table holds (``gateway.core.faults``).

A link fault is held by the node that *sends* the requests it affects, as an outbound rule for
the neighbour at the other end: ``node → peer`` by ``node``, ``peer → node`` by ``peer``. So a
cut link fails in the sender's forwarder as a refused connection does, and the cascade answers
30/31 as it does for a dead node. Faults of a node's own answers (error, slow, and cut, latency
or drop without a peer) are inbound rules of that node; a skew is that node's too.
"""

from __future__ import annotations

from gateway.control.errors import FaultInvalid
from gateway.control.faults.spec import (
    BROKER_KINDS,
    HELD_BY_NODES,
    LINK_KINDS,
    Direction,
    FaultKind,
    FaultSpec,
)
from gateway.core.errors import TopologyError
from gateway.core.faults import FaultRule, RuleKind, Side
from gateway.core.topology import Topology


def check_spec(topology: Topology, spec: FaultSpec, *, embedded_broker: bool) -> None:
    """FaultInvalid unless the fault's nodes and link exist in ``topology``."""
    if spec.kind in BROKER_KINDS:
        if not embedded_broker:
            raise FaultInvalid(
                f"{spec.kind}: the broker {topology.exchange.broker} is not one ecert starts;"
                " stop and start it yourself"
            )
        return
    for name in (spec.node, spec.peer):
        if name is not None and name not in topology.by_id:
            known = ", ".join(node.id for node in topology.nodes)
            raise FaultInvalid(f"unknown node {name!r} (the nodes: {known})")
    if spec.peer is not None and spec.node is not None:
        neighbours = {node.id for node in topology.neighbours(spec.node)}
        if spec.peer not in neighbours:
            raise FaultInvalid(
                f"{spec.node} and {spec.peer} are not neighbours: no link joins them (a link"
                f" joins a node to its parent or a child; {spec.node}'s:"
                f" {', '.join(sorted(neighbours)) or 'none'})"
            )
        if spec.kind not in LINK_KINDS and _shares_host(topology, spec.peer):
            raise FaultInvalid(
                f"{spec.peer} shares its host with another node: {spec.node} cannot tell its"
                " requests apart"
            )


def _shares_host(topology: Topology, node_id: str) -> bool:
    host = topology.node(node_id).host
    return sum(node.host == host for node in topology.nodes) > 1


def node_rules(topology: Topology, spec: FaultSpec, fault_id: str) -> list[tuple[str, FaultRule]]:
    """(node id, rule) for each node that holds a part of the fault; [] for process faults."""
    if spec.kind not in HELD_BY_NODES:
        return []
    if spec.node is None:
        raise TopologyError(f"{spec.kind} needs a node")
    common = {
        "id": fault_id,
        "kind": RuleKind(spec.kind.value),
        "from_ip": spec.from_ip,
        "latency_ms": spec.latency_ms,
        "jitter_ms": spec.jitter_ms,
        "delay_ms": spec.delay_ms,
        "skew_seconds": spec.skew_seconds,
        "for_seconds": spec.for_seconds,
    }
    if spec.kind is not FaultKind.SKEW:
        common["fraction"] = spec.fraction
    if spec.kind in LINK_KINDS and spec.peer is not None:
        direction = spec.link_direction
        senders = []
        if direction in (Direction.OUT, Direction.BOTH):
            senders.append((spec.node, spec.peer))
        if direction in (Direction.IN, Direction.BOTH):
            senders.append((spec.peer, spec.node))
        return [
            (sender, FaultRule.model_validate({**common, "side": Side.OUTBOUND, "peer": receiver}))
            for sender, receiver in senders
        ]
    return [(spec.node, FaultRule.model_validate({**common, "peer": spec.peer}))]
