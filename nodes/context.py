"""What every part of a running node shares: settings, topology place, store, clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.forwarder import Forwarder
from gateway.topology import NodeSpec, Topology
from nodes.clock import Clock
from nodes.settings import NodeSettings
from nodes.sharing.call import Answer, MethodCall
from nodes.store.certificates import CertificateRepo
from nodes.store.db import Database

Resolver = Callable[["NodeContext", MethodCall], Awaitable[Answer]]


@dataclass
class NodeContext:
    settings: NodeSettings
    db: Database
    clock: Clock
    certificates: CertificateRepo = field(init=False)
    forwarder: Forwarder | None = None  # set while the cascade runs; relays files to neighbours

    def __post_init__(self) -> None:
        self.certificates = CertificateRepo(self.db)

    @property
    def topology(self) -> Topology:
        return self.settings.topology

    @property
    def node(self) -> NodeSpec:
        return self.settings.node

    @property
    def node_id(self) -> str:
        return self.settings.node_id
