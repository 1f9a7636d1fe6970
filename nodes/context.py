"""What every part of a running node shares: settings, topology place, store, clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.core.events import EventSink, NullEvents
from gateway.core.forwarder import Forwarder
from gateway.core.topology import NodeSpec, Topology
from nodes.clock import Clock
from nodes.faults import NodeFaults
from nodes.settings import NodeSettings
from nodes.sharing.call import Answer, MethodCall
from nodes.store.certificates import CertificateRepo
from nodes.store.db import Database
from nodes.store.memo import StoreMemo

Resolver = Callable[["NodeContext", MethodCall], Awaitable[Answer]]


@dataclass
class NodeContext:
    settings: NodeSettings
    db: Database
    clock: Clock
    events: EventSink = field(default_factory=NullEvents)  # the node's event stream
    certificates: CertificateRepo = field(init=False)
    records: StoreMemo = field(init=False)  # certificate records by id; installed by serve
    forwarder: Forwarder | None = None  # set while the cascade runs; relays files to neighbours
    faults: NodeFaults = field(init=False)  # injected faults, in memory only

    def __post_init__(self) -> None:
        self.certificates = CertificateRepo(self.db)
        self.records = StoreMemo(self.db, "certificate")
        self.faults = NodeFaults(
            self.settings.topology, self.settings.node_id, self.clock, self.events
        )

    @property
    def topology(self) -> Topology:
        return self.settings.topology

    @property
    def node(self) -> NodeSpec:
        return self.settings.node

    @property
    def node_id(self) -> str:
        return self.settings.node_id
