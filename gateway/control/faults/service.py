"""``Faults(launcher)``: apply, list and heal faults on a running network (issue #12).

    faults = Faults(launcher)
    record = await faults.add(FaultSpec(kind="latency", node="hlj-harbin", peer="hlj",
                                        latency_ms=200, from_ip="127.0.9.5", for_seconds=30))
    for record in await faults.list(): print(record.id, record.time_left(now))
    await faults.clear(record.id)
    async with faults.applied(FaultSpec(kind="kill", node="jl")): ...

Faults that nodes hold (cut, latency, drop, error, slow, skew) are set through each node's admin
API (``gateway.control.faults.plan`` says where) and heal themselves in the node when timed.
Process faults (kill, pause, broker) are made with the launcher's process table; the keeper
heals the timed ones. Every fault in force is in the book (``run/faults.json``), so ``list``
works from any process; ``list`` also drops what has ended by itself or by other hands (a node
that was started again holds no fault). Process faults are ``fault.applied``/``fault.healed``
events of the control stream; nodes write those of the faults they hold.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gateway.control.admin_client import AdminClient
from gateway.control.errors import (
    AdminError,
    AdminRejected,
    FaultFailed,
    FaultNotFound,
    NodeNotRunning,
)
from gateway.control.events import ControlEvents
from gateway.control.faults import processes
from gateway.control.faults.book import FaultBook
from gateway.control.faults.plan import check_spec, node_rules
from gateway.control.faults.spec import (
    HEALED_BY_KEEPER,
    HELD_BY_NODES,
    FaultKind,
    FaultRecord,
    FaultSpec,
)
from gateway.core.client import client_session
from gateway.core.errors import GatewayError
from gateway.core.topology import Topology

if TYPE_CHECKING:
    from gateway.control.launcher import Launcher

ADMIN_TIMEOUT = 10.0  # seconds for one admin call while placing or healing a fault
Held = dict[str, set[str] | None]  # node id → the fault ids it holds (None: it cannot say)


class Faults:
    def __init__(self, launcher: Launcher, *, by: str = "control"):
        self.launcher = launcher
        self.topology = launcher.topology
        self.state = launcher.state
        self.book = FaultBook(self.state)
        self.by = by
        self.events = ControlEvents(self.state, by=by)

    # -- the API ---------------------------------------------------------------------------------
    async def add(self, spec: FaultSpec) -> FaultRecord:
        """Apply ``spec`` now. FaultInvalid: not possible in this network; FaultFailed: a node it
        needs is down or paused, or refused it."""
        check_spec(self.topology, spec, embedded_broker=self.launcher.embedded_broker)
        self._check_running(spec)
        applied = datetime.now(UTC)
        expires = (
            None if spec.for_seconds is None else applied + timedelta(seconds=spec.for_seconds)
        )
        record = FaultRecord(
            id=self.book.allocate(), spec=spec, applied_at=applied, expires_at=expires, by=self.by
        )
        record = await self._apply(record)
        if spec.kind is FaultKind.BROKER_RESTART:
            return record  # over already
        self.book.put(record)
        if expires is not None and spec.kind in HEALED_BY_KEEPER:
            processes.wake_keeper(self.state, self.launcher.processes)
        return record

    async def list(self) -> builtins.list[FaultRecord]:
        """The faults in force, oldest first (those ended meanwhile leave the book)."""
        records = self.book.records()
        held = await self._held_by_nodes(records)
        ended = {record.id for record in records if not self._in_force(record, held)}
        if ended:
            self.book.drop_over(lambda record: record.id in ended)
        now = datetime.now(UTC)
        overdue = [
            record
            for record in records
            if record.id not in ended
            and record.spec.kind in HEALED_BY_KEEPER
            and record.time_left(now) == 0
        ]
        if overdue:  # a keeper that was killed: a new one heals them
            processes.wake_keeper(self.state, self.launcher.processes)
        return [record for record in records if record.id not in ended]

    async def clear(self, fault_id: str, *, reason: str = "cleared") -> FaultRecord:
        """Heal one fault now (FaultNotFound when none with that id is in force, also when it
        healed by itself in its nodes a moment ago)."""
        record = self.book.take(fault_id)
        if record is None:
            raise FaultNotFound(
                f"no fault {fault_id} is in force (`ecert fault list` shows them)",
                fault_id=fault_id,
            )
        await self._heal(record, reason)
        return record

    async def clear_all(self) -> builtins.list[FaultRecord]:
        """Heal every fault of the book, and empty every running node's fault table."""
        healed: list[FaultRecord] = []
        failures: list[str] = []
        for record in self.book.take_all():
            try:
                await self._heal(record, "cleared")
            except FaultNotFound:  # it had healed by itself
                continue
            except GatewayError as exc:
                failures.append(f"{record.id}: {exc}")
            else:
                healed.append(record)
        for node in self.topology.nodes:
            if self.launcher.node_pid(node.id) is not None and not self._paused(node.id):
                with contextlib.suppress(AdminError):
                    await self._admin(node.id, "clear_faults")
        if failures:
            raise FaultFailed("some faults could not be healed: " + "; ".join(failures))
        return healed

    @asynccontextmanager
    async def applied(self, spec: FaultSpec) -> AsyncIterator[FaultRecord]:
        """The fault in force for the block; healed after it (unless it healed already)."""
        record = await self.add(spec)
        try:
            yield record
        finally:
            with contextlib.suppress(FaultNotFound):
                await self.clear(record.id)

    # -- applying --------------------------------------------------------------------------------
    def _check_running(self, spec: FaultSpec) -> None:
        for node_id in _nodes_of(self.topology, spec):
            if self.launcher.node_pid(node_id) is None:
                raise FaultFailed(f"node {node_id} is down; start it (`ecert up`) first")
            paused = self._paused(node_id)
            if paused is not None:
                raise FaultFailed(f"node {node_id} is paused by fault {paused}; clear it first")
        if spec.kind is FaultKind.BROKER_DOWN and self.launcher.broker_pid() is None:
            raise FaultFailed("the broker is down already")

    def _paused(self, node_id: str) -> str | None:
        for record in self.book.records():
            if record.spec.kind is FaultKind.PAUSE and record.spec.node == node_id:
                return record.id
        return None

    async def _apply(self, record: FaultRecord) -> FaultRecord:
        spec, kind = record.spec, record.spec.kind
        if kind in HELD_BY_NODES:
            placed = await self._place(record)
            return record.model_copy(update={"nodes": placed})
        node = spec.node or ""
        if kind is FaultKind.KILL:
            await self.launcher.kill_node(node)
        elif kind is FaultKind.PAUSE:
            pid = self.launcher.node_pid(node)
            if pid is None:
                raise FaultFailed(f"node {node} is down; start it (`ecert up`) first")
            if (host := self.launcher.host_of(node)) is not None:
                raise FaultFailed(
                    f"node {node} shares its process ({host}) with other nodes, and a pause "
                    "stops a whole process; start the network with `ecert up --process-per-node`"
                )
            await processes.pause(pid)
            record = record.model_copy(update={"pid": pid})
        elif kind is FaultKind.BROKER_DOWN:
            await self.launcher.stop_broker()
        else:
            await self.launcher.restart_broker()
        self._emit(
            "fault.applied", record, description=spec.describe(), for_seconds=spec.for_seconds
        )
        if kind is FaultKind.BROKER_RESTART:
            self._emit("fault.healed", record, reason="over")
        return record

    async def _place(self, record: FaultRecord) -> tuple[str, ...]:
        placed: list[str] = []
        try:
            for node_id, rule in node_rules(self.topology, record.spec, record.id):
                await self._admin(node_id, "add_fault", rule.model_dump(mode="json"))
                placed.append(node_id)
        except AdminError as exc:
            for node_id in placed:  # all or nothing
                with contextlib.suppress(AdminError):
                    await self._admin(node_id, "clear_fault", record.id)
            raise FaultFailed(f"cannot apply {record.spec.kind}: {exc}") from exc
        return tuple(placed)

    # -- healing ---------------------------------------------------------------------------------
    async def _heal(self, record: FaultRecord, reason: str) -> None:
        spec, kind = record.spec, record.spec.kind
        if kind in HELD_BY_NODES:
            removed = [await self._unplace(record, node_id) for node_id in record.nodes]
            if not any(removed):
                raise FaultNotFound(f"fault {record.id} had healed already", fault_id=record.id)
            return
        node = spec.node or ""
        if kind is FaultKind.KILL and self.launcher.node_pid(node) is None:
            await self.launcher.start_node(node)
        elif kind is FaultKind.PAUSE and record.pid is not None:
            processes.resume(record.pid)
        elif kind is FaultKind.BROKER_DOWN and self.launcher.broker_pid() is None:
            await self.launcher.start_broker()
        self._emit("fault.healed", record, reason=reason)

    async def _unplace(self, record: FaultRecord, node_id: str) -> bool:
        """Remove the fault's rule at ``node_id``; False when it held none (any more)."""
        try:
            await self._admin(node_id, "clear_fault", record.id)
        except NodeNotRunning:  # a node that is down holds nothing any more
            return False
        except AdminRejected as exc:
            if exc.status == 404:  # it healed in the node already
                return False
            raise FaultFailed(str(exc), fault_id=record.id) from exc
        return True

    # -- what is still in force ------------------------------------------------------------------
    async def _held_by_nodes(self, records: builtins.list[FaultRecord]) -> Held:
        nodes = sorted({node for record in records for node in record.nodes})
        answers = await asyncio.gather(*(self._fault_ids(node) for node in nodes))
        return dict(zip(nodes, answers, strict=True))

    async def _fault_ids(self, node_id: str) -> set[str] | None:
        if self._paused(node_id) is not None:
            return None  # a stopped process cannot answer; what it held, it holds
        try:
            table = await self._admin(node_id, "faults")
        except NodeNotRunning:
            return set()
        except AdminError:
            return None
        return {str(rule.get("id")) for rule in table.get("faults", []) if isinstance(rule, dict)}

    def _in_force(self, record: FaultRecord, held: Held) -> bool:
        kind, node = record.spec.kind, record.spec.node or ""
        if kind in HELD_BY_NODES:
            return any(
                held.get(n) is None or record.id in (held.get(n) or ()) for n in record.nodes
            )
        if kind is FaultKind.KILL:
            return self.launcher.node_pid(node) is None
        if kind is FaultKind.PAUSE:
            return record.pid is not None and processes.is_stopped(record.pid)
        return self.launcher.broker_pid() is None  # broker-down

    # -- helpers ---------------------------------------------------------------------------------
    async def _admin(self, node_id: str, call: str, *args: object) -> Any:
        """One admin call (an ``AdminClient`` method by name) with a session of its own."""
        async with client_session(limit=4, total_timeout=ADMIN_TIMEOUT) as session:
            admin = AdminClient(self.topology, self.state, node_id, session=session)
            return await getattr(admin, call)(*args)

    def _emit(self, event: str, record: FaultRecord, **fields: Any) -> None:
        self.events.emit(
            event, node=record.spec.node, fault=record.id, kind=str(record.spec.kind), **fields
        )


def _nodes_of(topology: Topology, spec: FaultSpec) -> list[str]:
    """The nodes that must be running for ``spec`` to be applied."""
    if spec.kind in HELD_BY_NODES:
        return [node for node, _ in node_rules(topology, spec, "check")]
    return [spec.node] if spec.node is not None else []
