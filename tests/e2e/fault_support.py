"""What the fault and event tests share: a two-province network, callers, waiting for a heal.

The network (``national``; provinces ``p1``, ``p2``; cities ``p1-c1``, ``p1-c2``, ``p2-c1``,
``p2-c2``) is started once per module and aggregated; ``Lab`` calls as business applications
from two addresses, and after each test ``restore`` clears every fault and starts again what a
test left down, so the next test finds the whole network serving.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.control.app_client import AppCaller, CallResult
from gateway.control.events import EventFilter, Record, wait_for_events
from gateway.control.faults import FaultRecord, Faults, FaultSpec
from tests.e2e.harness import Network, network_in_background, provinces_shape, write_topology
from tests.e2e.routing_support import take_inventory, wait_aggregated

APP = "127.0.9.5"  # the application a scoped fault hits
OTHER_APP = "127.0.9.6"  # another application on the same node, spared
ENTRY = "p1-c1"
OWNER = "p2-c2"  # a city of the other province: p1-c1 → p1 → national → p2 → p2-c2
CROSS_ROUTE = ["p1-c1", "p1", "national", "p2", "p2-c2"]
HEAL_WITHIN = 60.0  # seconds for a timed fault to heal (a kill restarts a node; a loaded box)


def start_lab_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("faults")
    topology = write_topology(root, shape=provinces_shape(2, 2), interval=0.2, ack_timeout=1.0)
    with network_in_background(topology, root / "state", per_node=6) as net:
        asyncio.run(wait_aggregated(net))
        yield net


class Lab:
    """A running network, its faults, and one usable certificate per node."""

    def __init__(self, net: Network, usable: dict[str, dict[str, Any]]):
        self.net = net
        self.faults = Faults(net.launcher)
        self.usable = usable

    @classmethod
    async def of(cls, net: Network) -> Lab:
        inventory = await take_inventory(net)
        return cls(net, inventory.usable)

    def certificate_id(self, owner: str = OWNER) -> str:
        return str(self.usable[owner]["CertificateID"])

    async def lookup(
        self,
        owner: str = OWNER,
        *,
        entry: str = ENTRY,
        from_ip: str = APP,
        deadline_ms: int | None = None,
        caller: AppCaller | None = None,
    ) -> CallResult:
        """GetCertificateDataByCertificateID, at ``entry``, of a certificate ``owner`` holds."""
        params = {"CertificateID": self.certificate_id(owner), "UseFor": "e2e faults"}
        if caller is not None:
            return await caller.call(
                "GetCertificateDataByCertificateID", params, deadline_ms=deadline_ms
            )
        async with self.caller(entry, from_ip) as app:
            return await app.call(
                "GetCertificateDataByCertificateID", params, deadline_ms=deadline_ms
            )

    def caller(self, entry: str = ENTRY, from_ip: str = APP) -> AppCaller:
        return AppCaller(
            self.net.topology,
            self.net.state,
            entry,
            from_ip=from_ip,
            name="e2e-faults",
            rate_limit=10_000,
        )

    async def add(self, **spec: Any) -> FaultRecord:
        return await self.faults.add(FaultSpec.parse(spec))

    async def healed(self, record: FaultRecord, *, within: float = HEAL_WITHIN) -> list[Record]:
        """The ``fault.healed`` events of ``record``: one per node holding it, or the keeper's."""
        wanted = max(1, len(record.nodes))

        def done(records: list[Record]) -> bool:
            return sum(r.get("fault") == record.id for r in records) >= wanted

        events = await wait_for_events(
            self.net.state, done, EventFilter(event="fault.healed"), within=within
        )
        return [event for event in events if event.get("fault") == record.id]

    async def events_of(self, request_id: str, event: str, count: int) -> list[Record]:
        """The ``event`` records of one request, once ``count`` of them are written."""
        wanted = EventFilter(request_id=request_id, event=event)
        return await wait_for_events(
            self.net.state, lambda found: len(found) >= count, wanted, within=HEAL_WITHIN
        )

    async def in_force(self) -> set[str]:
        return {record.id for record in await self.faults.list()}

    async def restore(self) -> None:
        """Clear every fault; start again whatever is down; wait until all serve."""
        await self.faults.clear_all()
        launcher = self.net.launcher
        if launcher.embedded_broker and launcher.broker_pid() is None:
            await launcher.start_broker()
        for node in self.net.topology.nodes:
            if launcher.node_pid(node.id) is None:
                await launcher.start_node(node.id)
        for node in self.net.topology.nodes:
            await launcher.wait_healthy(node.id, within=HEAL_WITHIN)


async def eventually_ok(lab: Lab, *, within: float = HEAL_WITHIN, **options: Any) -> CallResult:
    """The lookup, tried until it answers 0 (a restarted node, a broker reconnecting)."""
    deadline = time.monotonic() + within
    while True:
        result = await lab.lookup(**options)
        if result.status == 0:
            return result
        assert time.monotonic() < deadline, f"still {result.status}: {result.envelope}"
        await asyncio.sleep(0.2)
