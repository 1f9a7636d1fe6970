"""What every part of a running node shares: settings, topology place, store, clock, wake-ups,
its event stream and its table of injected faults.

One context per node, made when the node is assembled (``nodes.serve``); it holds everything
that is the node's own, so two contexts in one process share nothing. Collaborators that do I/O
beyond the store (the neighbours, the exchange) are passed to the parts that need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.core.events import EventSink, NullEvents
from gateway.core.topology import NodeSpec, Topology
from nodes.clock import Clock
from nodes.faults import NodeFaults
from nodes.settings import NodeSettings
from nodes.store.store import Store
from nodes.wakeups import Wakeups


@dataclass(frozen=True, slots=True, eq=False)
class NodeContext:
    settings: NodeSettings
    store: Store
    clock: Clock
    wakeups: Wakeups = field(default_factory=Wakeups)
    events: EventSink = field(default_factory=NullEvents)  # the node's event stream
    faults: NodeFaults = field(init=False)  # injected faults, in memory only

    def __post_init__(self) -> None:
        faults = NodeFaults(self.settings.topology, self.settings.node_id, self.clock, self.events)
        object.__setattr__(self, "faults", faults)  # frozen: set once, here

    @property
    def topology(self) -> Topology:
        return self.settings.topology

    @property
    def node(self) -> NodeSpec:
        return self.settings.node

    @property
    def node_id(self) -> str:
        return self.settings.node_id
