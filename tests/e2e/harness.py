"""End-to-end harness: generated topologies and whole networks of real node processes.

``write_topology(tmp_path, shape=...)`` writes a topology file in which every node has its own
loopback address (random per network, inside 127.3.0.0–127.254.255.255) and a free port on it;
``running_network(path, state_dir)`` starts it with the real ``Launcher`` and stops every process
afterwards, also when the test fails::

    path = write_topology(tmp_path, shape="demo")
    async with running_network(path, tmp_path / "state") as net:
        status = await net.admin("hlj", "GET", "/admin/status")
        await net.kill_node("hlj-harbin")

A shape is ``"demo"`` (the ids, tiers, names, area codes and data sources of the repository's
``topology.yaml``) or a dict ``{node_id: {"tier": ..., "parent": ..., "area_code": ...,
"data_source": ..., "name": ...}}`` in file order; ``provinces_shape(...)`` builds bigger trees.
A city or department without a ``data_source`` key gets one that is unique in its province.

``ECERT_NODES_PER_PROCESS=N`` in the environment packs every network the harness starts into
node hosts of N nodes (``gateway.control.hosts``), so the same tests run in the packed mode.

For a network shared by a module's tests (10 processes cost seconds), ``network_in_background``
is the same as a plain context manager, usable from a synchronous module-scoped fixture; the
``Network`` methods keep no event-loop state, so each test may drive them from its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import yaml

from gateway.control.admin_client import AdminClient
from gateway.control.launcher import Launcher, NodeStatus
from gateway.control.relocate import free_port, fresh_addresses
from gateway.core.topology import LAUNCHED_BROKERS, load_topology

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_TOPOLOGY = PROJECT_ROOT / "topology.yaml"
NODE_KEYS = frozenset({"tier", "parent", "name", "area_code", "data_source"})
AUTO_DATA_SOURCE_TIERS = frozenset({"city", "department"})

Shape = dict[str, dict[str, Any]]


# -- shapes ----------------------------------------------------------------------------------------
def demo_shape() -> Shape:
    """The repository's demo network without its addresses."""
    topology = load_topology(DEMO_TOPOLOGY)
    return {
        node.id: {
            "tier": str(node.tier),
            "parent": node.parent,
            "name": node.name,
            "area_code": node.area_code,
            "data_source": node.data_source,
        }
        for node in topology.nodes
    }


# Provinces with prefecture codes that nodes.model.codes accepts (A.1).
_PROVINCES = (
    ("230000", ("230100", "230200", "230300", "230400", "230500", "230600")),
    ("220000", ("220100", "220200", "220300", "220400", "220500", "220600")),
    ("320000", ("320100", "320200", "320300", "320400", "320500", "320600")),
    ("330000", ("330100", "330200", "330300", "330400", "330500", "330600")),
    ("370000", ("370100", "370200", "370300", "370400", "370500", "370600")),
    ("440000", ("440100", "440200", "440300", "440400", "440500", "440600")),
)


def provinces_shape(
    provinces: int = 3,
    cities: int = 2,
    *,
    departments_per_city: int = 0,
    ministry: bool = False,
) -> Shape:
    """``national``, provinces ``p1``…, cities ``p1-c1``…, departments ``p1-c1-d1``…, ``mot``."""
    if not 1 <= provinces <= len(_PROVINCES) or not 0 <= cities <= 6:
        raise ValueError(f"provinces_shape supports 1-{len(_PROVINCES)} provinces, 0-6 cities")
    shape: Shape = {"national": {"tier": "national"}}
    if ministry:
        shape["mot"] = {"tier": "ministry", "parent": "national"}
    for p, (province_code, city_codes) in enumerate(_PROVINCES[:provinces], start=1):
        province = f"p{p}"
        shape[province] = {"tier": "province", "parent": "national", "area_code": province_code}
        for c, city_code in enumerate(city_codes[:cities], start=1):
            city = f"{province}-c{c}"
            shape[city] = {"tier": "city", "parent": province, "area_code": city_code}
            for d in range(1, departments_per_city + 1):
                shape[f"{city}-d{d}"] = {
                    "tier": "department",
                    "parent": city,
                    "area_code": city_code,
                }
    return shape


# -- topology files --------------------------------------------------------------------------------
def write_topology(
    tmp_path: Path,
    *,
    shape: Literal["demo"] | Shape = "demo",
    broker: str = "embedded",
    interval: float = 0.3,
    ack_timeout: float | None = None,
    network: str | None = None,
    filename: str = "topology.yaml",
) -> Path:
    """Write a valid topology file with fresh addresses and free ports; returns its path."""
    spec = demo_shape() if shape == "demo" else shape
    _check_shape(spec)
    addresses = fresh_addresses(len(spec) + 1)
    exchange: dict[str, Any] = {"broker": broker, "interval": interval}
    if broker in LAUNCHED_BROKERS:  # started with the network on an address of its own
        exchange |= {"host": addresses[0], "port": free_port(addresses[0])}
    if ack_timeout is not None:
        exchange["ack_timeout"] = ack_timeout
    nodes = []
    for (node_id, fields), host in zip(
        _with_data_sources(spec).items(), addresses[1:], strict=True
    ):
        entry = {"id": node_id, "name": fields.get("name") or node_id}
        entry |= {
            key: value for key, value in fields.items() if value is not None and key != "name"
        }
        nodes.append(entry | {"host": host, "port": free_port(host)})
    document = {
        "network": network or f"t{uuid.uuid4().hex[:10]}",
        "timezone": "Asia/Shanghai",
        "path": "/ecert",
        "exchange": exchange,
        "nodes": nodes,
    }
    path = tmp_path / filename
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def _check_shape(spec: Shape) -> None:
    for node_id, fields in spec.items():
        unknown = set(fields) - NODE_KEYS
        if unknown:
            raise ValueError(f"shape node {node_id!r}: unknown keys {sorted(unknown)}")
        if "tier" not in fields:
            raise ValueError(f"shape node {node_id!r} has no tier")


def _with_data_sources(spec: Shape) -> Shape:
    """Give each city or department without a ``data_source`` key one unique in its province:
    ``0xx`` for a provincial department, ``1xx`` for the others (A.3)."""

    def province(node_id: str) -> str | None:
        current: str | None = node_id
        while current is not None and spec.get(current, {}).get("tier") != "province":
            current = spec.get(current, {}).get("parent")
        return current

    def first_digit(fields: dict[str, Any]) -> int:
        parent = spec.get(fields.get("parent") or "", {})
        return 0 if fields["tier"] == "department" and parent.get("tier") == "province" else 1

    used = {(province(i), f["data_source"]) for i, f in spec.items() if f.get("data_source")}
    result: Shape = {}
    for node_id, given in spec.items():
        fields = dict(given)
        if "data_source" not in fields and fields["tier"] in AUTO_DATA_SOURCE_TIERS:
            where, low = province(node_id), first_digit(fields) * 100
            code = next(
                f"{n:03d}" for n in range(low + 1, low + 100) if (where, f"{n:03d}") not in used
            )
            used.add((where, code))
            fields["data_source"] = code
        result[node_id] = fields
    return result


# -- running networks ------------------------------------------------------------------------------
class BrokerHandle:
    """The broker a running network started itself (embedded or Mosquitto)."""

    def __init__(self, launcher: Launcher):
        self._launcher = launcher
        exchange = launcher.topology.exchange
        self.host, self.port = exchange.broker_host, exchange.broker_port
        self.url = f"mqtt://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self._launcher.stop_broker()

    async def start(self) -> None:
        await self._launcher.start_broker()

    async def restart(self) -> None:
        await self._launcher.restart_broker()

    @property
    def running(self) -> bool:
        return self._launcher.broker_pid() is not None


class Network:
    """A running network as a test drives it."""

    def __init__(self, launcher: Launcher):
        self.launcher = launcher
        self.topology = launcher.topology
        self.state = launcher.state
        self.broker = BrokerHandle(launcher) if launcher.embedded_broker else None

    def url(self, node_id: str) -> str:
        """``http://host:port`` of a node."""
        return self.topology.node(node_id).url

    def method_url(self, node_id: str, method: str) -> str:
        """Where a node answers one of the ten methods."""
        return f"{self.url(node_id)}{self.topology.path}/{method}"

    async def admin(self, node_id: str, method: str, path: str, json: Any = None) -> Any:
        """One admin API call; the decoded answer, or an ``AdminError`` for 4xx/5xx."""
        async with AdminClient(self.topology, self.state, node_id) as client:
            return await client.request(method, path, json=json)

    async def issue(self, node_id: str, record: dict[str, Any]) -> str:
        """Issue ``record`` at the node, its authority given a seal there first if it has none
        (an authority must have one to issue); the CertificateID."""
        async with AdminClient(self.topology, self.state, node_id) as client:
            await client.ensure_seal(record)
            await client.request("POST", "/admin/certificates", json=record)
        return str(record["CertificateID"])

    async def kill_node(self, node_id: str) -> None:
        """SIGKILL, as a crash would."""
        await self.launcher.kill_node(node_id)

    async def stop_node(self, node_id: str) -> None:
        await self.launcher.stop_node(node_id)

    async def start_node(self, node_id: str) -> None:
        """Start a stopped or killed node again and wait until it serves."""
        await self.launcher.start_node(node_id)

    async def wait_healthy(self, node_id: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - the harness contract names it so
        await self.launcher.wait_healthy(node_id, within=timeout)

    async def status(self) -> list[NodeStatus]:
        return await self.launcher.status()

    def pid(self, node_id: str) -> int | None:
        return self.launcher.node_pid(node_id)

    def log(self, node_id: str) -> str:
        """Everything the node wrote to its log (for assertion messages)."""
        path = self.state.log_path(self.launcher.host_of(node_id) or node_id)
        return path.read_text(errors="replace") if path.exists() else ""


def packing() -> int | None:
    """Nodes per process for the networks of this run (None: the launcher's rule)."""
    value = os.environ.get("ECERT_NODES_PER_PROCESS", "").strip()
    return int(value) if value else None


@contextlib.asynccontextmanager
async def running_network(
    topology_path: Path,
    state_dir: Path,
    *,
    seed: int | None = 7,
    per_node: int = 20,
    nodes_per_process: int | None = None,
) -> AsyncIterator[Network]:
    """Start the network, yield it, stop every process of it whatever happened."""
    launcher = Launcher(
        topology_path,
        state_dir,
        seed=seed,
        per_node=per_node,
        nodes_per_process=nodes_per_process or packing(),
    )
    try:
        await launcher.up()
        yield Network(launcher)
    finally:
        await launcher.down()


@contextlib.contextmanager
def network_in_background(
    topology_path: Path, state_dir: Path, *, seed: int | None = 7, per_node: int = 20
) -> Iterator[Network]:
    """``running_network`` for synchronous (module- or session-scoped) fixtures."""
    launcher = Launcher(
        topology_path, state_dir, seed=seed, per_node=per_node, nodes_per_process=packing()
    )
    try:
        asyncio.run(launcher.up())
        yield Network(launcher)
    finally:
        asyncio.run(launcher.down())
