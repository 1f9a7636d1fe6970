"""Where a node sits in the exchange (SPEC §6.3): its parent, its children and its topics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gateway.core.exchange import ack_topic, anomaly_topic, catalog_topic, types_topic
from gateway.core.topology import Topology
from nodes.catalog.validate import Sender, sender_of


def subscriptions(topology: Topology, node_id: str) -> list[str]:
    network = topology.network
    topics: list[str] = []
    if topology.children(node_id):
        topics += [catalog_topic(network, node_id), types_topic(network, node_id)]
    if topology.parent(node_id) is not None:
        topics += [ack_topic(network, node_id), anomaly_topic(network, node_id)]
    return topics


@dataclass(frozen=True, slots=True)
class Place:
    node_id: str
    network: str
    parent: str | None
    children: Mapping[str, Sender]  # what the node knows of each child a batch may come from

    @classmethod
    def of(cls, topology: Topology, node_id: str) -> Place:
        parent = topology.parent(node_id)
        children = {child.id: sender_of(topology, child.id) for child in topology.children(node_id)}
        return cls(
            node_id=node_id,
            network=topology.network,
            parent=None if parent is None else parent.id,
            children=MappingProxyType(children),
        )

    def loop_name(self, job: str) -> str:
        """The name of this node's task running ``job``: ``node[<id>].<job>_loop``."""
        return f"node[{self.node_id}].{job}_loop"
