"""What the routing e2e tests share: expected routes from the topology, the network's inventory,
application callers, and waiting for aggregation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from gateway.control.app_client import AppCaller, CallResult
from gateway.core.protocol import CERTIFICATE_DATA_KEYS
from gateway.core.topology import Topology
from tests.e2e.harness import Network

AGGREGATED_WITHIN = 120.0  # seconds for every catalog to cover its subtree (2 slow cores)


# -- expected routes, from the topology alone ------------------------------------------------------
def subtree_ids(topology: Topology, node_id: str) -> set[str]:
    return {node.id for node in topology.subtree(node_id)}


def tree_path(topology: Topology, source: str, target: str) -> list[str]:
    """By ID: up from ``source`` to the lowest common ancestor, then down to ``target``."""
    up = [source, *(n.id for n in topology.ancestors(source))]
    down = [target, *(n.id for n in topology.ancestors(target))]
    common = next(node for node in up if node in down)
    return up[: up.index(common) + 1] + list(reversed(down[: down.index(common)]))


def holder_route(topology: Topology, entry: str, owners: set[str]) -> list[str]:
    """By holder: up to the nearest node whose subtree holds matches, then every branch with
    matches, depth first in file order (SPEC §5)."""
    route: list[str] = []
    for node in [topology.node(entry), *topology.ancestors(entry)]:
        route.append(node.id)
        if subtree_ids(topology, node.id) & owners:
            break
    else:
        return route

    def descend(node_id: str) -> None:
        for child in topology.children(node_id):
            if child.id not in route and subtree_ids(topology, child.id) & owners:
                route.append(child.id)
                descend(child.id)

    descend(route[-1])
    return route


def catalog_route(topology: Topology, entry: str) -> list[str]:
    """Retrieval and GetCertificateType: up to the root."""
    return [entry, *(n.id for n in topology.ancestors(entry))]


# -- the network -----------------------------------------------------------------------------------
async def wait_aggregated(net: Network, *, within: float = AGGREGATED_WITHIN) -> dict[str, Any]:
    """Until every node's catalog rows equal its subtree's certificates; the statuses."""
    topology = net.topology
    deadline = time.monotonic() + within
    while True:
        statuses = {
            node.id: await net.admin(node.id, "GET", "/admin/status") for node in topology.nodes
        }
        behind = {
            node.id: (
                statuses[node.id]["catalog_rows"],
                sum(statuses[n.id]["certificates"] for n in topology.subtree(node.id)),
            )
            for node in topology.nodes
        }
        behind = {k: v for k, v in behind.items() if v[0] != v[1]}
        if not behind:
            return statuses
        if time.monotonic() > deadline:
            raise AssertionError(f"catalogs (rows, expected) still behind: {behind}")
        await asyncio.sleep(0.3)


@dataclass
class Inventory:
    """Every node's certificates (summaries) and one usable full record per node."""

    certificates: dict[str, list[dict[str, Any]]]
    usable: dict[str, dict[str, Any]] = field(default_factory=dict)

    def owners(
        self, holder: str, type_code: str | None = None, number: str | None = None
    ) -> set[str]:
        return {
            node_id
            for node_id, certs in self.certificates.items()
            for cert in certs
            if cert["CertificateHolderCode"] == holder
            and (type_code is None or cert["CertificateTypeCode"] == type_code)
            and (number is None or cert["CertificateNumber"] == number)
        }

    def shared(self) -> list[tuple[str, str, set[str]]]:
        """(holder, type, owners) held at two or more nodes, most owners first."""
        pairs: dict[tuple[str, str], set[str]] = {}
        for node_id, certs in self.certificates.items():
            for cert in certs:
                key = (cert["CertificateHolderCode"], cert["CertificateTypeCode"])
                pairs.setdefault(key, set()).add(node_id)
        found = [(h, t, owners) for (h, t), owners in pairs.items() if len(owners) > 1]
        return sorted(found, key=lambda item: (-len(item[2]), item[0], item[1]))


async def take_inventory(net: Network) -> Inventory:
    today = datetime.now(net.topology.zone).date().isoformat()
    inventory = Inventory({})
    for node in net.topology.nodes:
        listed = await net.admin(node.id, "GET", "/admin/certificates")
        inventory.certificates[node.id] = listed
        for cert in (c for c in listed if c["CertificateStatus"] == "01"):
            record = await net.admin(node.id, "GET", f"/admin/certificates/{cert['CertificateID']}")
            expiring = record.get("CertificateExpiringDate") or "9999-12-31"
            holder_matches = inventory.owners(
                cert["CertificateHolderCode"],
                cert["CertificateTypeCode"],
                cert["CertificateNumber"],
            )
            if expiring >= today and holder_matches == {node.id}:
                inventory.usable[node.id] = record
                break
    return inventory


def certificate_data(item: dict[str, Any]) -> str:
    """Table 11 CertificateData from a data item, as the JSON string a form field carries."""
    return json.dumps(
        {key: item[key] for key in CERTIFICATE_DATA_KEYS if key in item}, ensure_ascii=False
    )


# -- applications ----------------------------------------------------------------------------------
class Apps:
    """One business application per entry node, all calling from ``from_ip``."""

    def __init__(self, net: Network, *, from_ip: str = "127.0.9.1", name: str = "e2e-routing"):
        self.net = net
        self.from_ip = from_ip
        self.name = name
        self._callers: dict[str, AppCaller] = {}
        self._open = AsyncExitStack()  # the callers, closed with the Apps

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._open.aclose()
        self._callers.clear()

    async def at(self, entry: str) -> AppCaller:
        if entry not in self._callers:
            caller = AppCaller(
                self.net.topology,
                self.net.state,
                entry,
                from_ip=self.from_ip,
                name=self.name,
                rate_limit=10_000,
            )
            self._callers[entry] = await self._open.enter_async_context(caller)
        return self._callers[entry]

    async def call(
        self, entry: str, method: str, params: dict[str, str], **options: Any
    ) -> CallResult:
        caller = await self.at(entry)
        return await caller.call(method, {"UseFor": "e2e routing", **params}, **options)


def items(result: CallResult) -> list[dict[str, Any]]:
    data = result.data if isinstance(result.data, dict) else {}
    listed = data.get("dataList")
    return listed if isinstance(listed, list) else []


def ids_of(results: Iterable[dict[str, Any]]) -> set[str]:
    return {str(item.get("certificateID")) for item in results}


async def assert_by_id_reaches_every_owner(net: Network, inventory: Inventory) -> None:
    """From every entry node, GetCertificateDataByCertificateID for one usable certificate of
    every owner answers 0 along the tree path, with one timing per node of the route."""
    async with Apps(net) as apps:
        for entry in net.topology.nodes:
            for owner, record in inventory.usable.items():
                result = await apps.call(
                    entry.id,
                    "GetCertificateDataByCertificateID",
                    {"CertificateID": record["CertificateID"]},
                )
                where = f"{entry.id} → {owner}"
                assert result.status == 0, (where, result.envelope)
                assert result.route == tree_path(net.topology, entry.id, owner), where
                assert [node for node, _ in result.timings] == result.route, where
                (item,) = items(result)
                assert item["certificateNumber"] == record["CertificateNumber"], where
