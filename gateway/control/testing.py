"""Networks for tests, as the pytest plugin hands them out (``gateway.control.pytest_plugin``).

``NetworkPool`` starts a network the first time a test asks for its topology and keeps it for
the rest of the session; ``close()`` stops them all. A network starts in a directory of the
pool's, on fresh loopback addresses and free ports unless asked to keep the file's
(``gateway.control.relocate``), tied to the test process (a killed session leaves no node
behind), and is handed out once it has settled (``gateway.control.settle``): every node's
catalog rows are at national.

``EcertNetwork`` is what a test uses. Its methods are plain functions, each running its own
event loop (in a thread of its own when called from an async test, which waits for it).
Networks are started from the fixture, in the test process's main thread: the kernel's
parent-death signal belongs to the thread that started a process.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from gateway.control.admin_client import AdminClient
from gateway.control.app_client import DEFAULT_FROM_IP, AppCaller, CallResult
from gateway.control.errors import FaultNotFound
from gateway.control.faults import FaultKind, FaultRecord, Faults, FaultSpec
from gateway.control.launcher import Launcher
from gateway.control.node_status import NodeStatus
from gateway.control.relocate import relocated, topology_yaml
from gateway.control.settle import wait_settled
from gateway.core.topology import Topology, load_topology

DEMO_TOPOLOGY = Path(__file__).with_name("demo_topology.yaml")  # topology.yaml, packaged
SETTLE_WITHIN = 120.0  # seconds
T = TypeVar("T")


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end: in this thread, or in another one when this thread's event loop
    is running (an async test), which then waits for it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(1, thread_name_prefix="ecert-network") as pool:
        return pool.submit(asyncio.run, work).result()


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """Which network: a topology file, its synthetic data, and whether it keeps its addresses."""

    topology: Path = DEMO_TOPOLOGY
    seed: int | None = 2836
    per_node: int = 40
    keep_addresses: bool = False
    nodes_per_process: int | None = None  # None: the launcher's packing rule


@dataclass(frozen=True, slots=True)
class Account:
    """An application account at ``node``, bound to ``ip`` (SPEC §4)."""

    node: str
    ip: str
    account_id: str
    url: str  # where the node serves the methods: ``<url>/<Method>``, ``<url>/token``


class EcertNetwork:
    """A running, settled network."""

    def __init__(self, launcher: Launcher):
        self.launcher = launcher
        self.topology: Topology = launcher.topology
        self.state_dir: Path = launcher.state.root
        self.urls: dict[str, str] = {node.id: node.url for node in self.topology.nodes}

    def url(self, node_id: str) -> str:
        """``http://host:port`` of a node."""
        return self.topology.node(node_id).url

    def account(self, node_id: str, ip: str, *, rate_limit: float | None = None) -> Account:
        """A new application account at the node, bound to ``ip`` (any 127.x.y.z address that
        is not a node's works on one machine)."""

        async def go() -> Any:
            async with AdminClient(self.topology, self.launcher.state, node_id) as client:
                return await client.create_account(ip, f"pytest {ip}", rate_limit=rate_limit)

        record = _run(go())
        url = f"{self.url(node_id)}{self.topology.path}"
        return Account(node_id, ip, str(record["AccountId"]), url)

    def call(
        self,
        node_id: str,
        method: str,
        params: dict[str, str] | None = None,
        *,
        from_ip: str = DEFAULT_FROM_IP,
        explain: bool = False,
        deadline_ms: int | None = None,
        **more: str,
    ) -> CallResult:
        """Call a method at ``node_id`` as an application at ``from_ip``: the envelope, the
        route (``result.route``) and each hop's time (``result.timings``)."""

        async def go() -> CallResult:
            async with AppCaller(self.topology, self.launcher.state, node_id, from_ip=from_ip,
                                 name="ecert-pytest") as app:  # fmt: skip
                return await app.call(
                    method, {**(params or {}), **more}, explain=explain, deadline_ms=deadline_ms
                )

        return _run(go())

    def certificates(self, node_id: str, *, usable: bool = False) -> list[dict[str, Any]]:
        """The node's certificates (summaries). ``usable``: only 正常 ones not expired, in full."""
        listed: list[dict[str, Any]] = self.admin(node_id, "GET", "/admin/certificates")
        if not usable:
            return listed
        today = datetime.now(self.topology.zone).date().isoformat()
        normal = [cert for cert in listed if cert.get("CertificateStatus") == "01"]
        full = [
            self.admin(node_id, "GET", f"/admin/certificates/{cert['CertificateID']}")
            for cert in normal
        ]
        return [cert for cert in full if (cert.get("CertificateExpiringDate") or "9") >= today]

    def admin(self, node_id: str, method: str, path: str, json: Any = None) -> Any:
        """One call of the node's admin API (``/admin/...``); ``AdminError`` when refused."""

        async def go() -> Any:
            async with AdminClient(self.topology, self.launcher.state, node_id) as client:
                return await client.request(method, path, json=json)

        return _run(go())

    def seal(self, node_id: str, record: dict[str, Any]) -> Any:
        """The seal of ``record``'s issuing authority at the node, created if it has none: an
        authority needs one before it issues there (README "Seals")."""

        async def go() -> Any:
            async with AdminClient(self.topology, self.launcher.state, node_id) as client:
                return await client.ensure_seal(record)

        return _run(go())

    def status(self) -> list[NodeStatus]:
        """Every node's process, health and counters, as ``ecert status`` shows them."""
        return _run(self.launcher.status())

    @contextmanager
    def fault(self, kind: str, **fields: Any) -> Iterator[FaultRecord]:
        """The fault in force for the ``with`` block, healed after it (unless it healed by
        itself): ``with net.fault("cut", node="hlj", peer="national", from_ip=ip): ...``. The
        fields are ``FaultSpec``'s (``latency_ms=200``, ``for_seconds=5``, ...); an impossible
        fault raises ``FaultInvalid`` before anything changes. As ``Faults.applied``, but each
        half on an event loop of its own, as every method here. From an async test, a node a
        ``kill`` stopped is started again from a passing thread, and the kernel stops it again
        when that thread ends (see the module's docstring): kill nodes from plain tests."""
        faults = Faults(self.launcher, by="pytest")
        spec = FaultSpec.parse({"kind": kind, **fields})
        record = _run(faults.add(spec))
        try:
            yield record
        finally:
            if spec.kind is not FaultKind.BROKER_RESTART:
                with suppress(FaultNotFound):
                    _run(faults.clear(record.id))

    def wait(self, within: float = SETTLE_WITHIN) -> None:
        """Until every catalog row is at national again (after issuing, say)."""
        _run(wait_settled(self.launcher, within=within))


class NetworkPool:
    """Networks by spec, started on first use under ``root``, all stopped by ``close()``."""

    def __init__(self, root: Path, *, settle_within: float = SETTLE_WITHIN):
        self.root = root
        self.settle_within = settle_within
        self._networks: dict[NetworkSpec, EcertNetwork] = {}

    def get(self, spec: NetworkSpec) -> EcertNetwork:
        if spec not in self._networks:
            self._networks[spec] = self._start(spec)
        return self._networks[spec]

    def _start(self, spec: NetworkSpec) -> EcertNetwork:
        topology = load_topology(spec.topology)
        workdir = self.root / f"{topology.network}-{len(self._networks)}"
        workdir.mkdir(parents=True)
        path = workdir / "topology.yaml"
        if spec.keep_addresses:
            shutil.copyfile(spec.topology, path)
        else:
            path.write_text(topology_yaml(relocated(topology)), encoding="utf-8")
        launcher = Launcher(path, workdir / "state", seed=spec.seed, per_node=spec.per_node,
                            die_with_owner=True,
                            nodes_per_process=spec.nodes_per_process)  # fmt: skip

        async def up() -> None:
            try:
                await launcher.up()
                await wait_settled(launcher, within=self.settle_within)
            except BaseException:
                await launcher.down()
                raise

        asyncio.run(up())  # here, never in a passing thread: see the module's docstring
        return EcertNetwork(launcher)

    def close(self) -> None:
        """Stop every network started here."""
        networks, self._networks = list(self._networks.values()), {}
        for network in networks:
            asyncio.run(network.launcher.down())
