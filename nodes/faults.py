"""The faults one node holds (issue #12): its fault table, what a rule does beyond matching, and
healing on time.

``ctx.faults`` lives as long as the node's context, in memory only: a node that starts again
holds no fault. The admin API (``nodes.http.faults``) adds and removes rules; the HTTP server asks
``inbound`` before each of the ten methods, the forwarder asks ``table.outbound`` before each
forward (``gateway.core.faults`` holds the rules and their matching). A skew moves the node's
clock (``nodes.clock``) while it is held. ``expiry_loop`` heals timed rules when their time is
up on the monotonic clock, so a skewed clock cannot keep a fault alive or end one early. Each
rule applied or healed is a ``fault.applied`` / ``fault.healed`` event and log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from datetime import timedelta
from typing import Any

import structlog

from gateway.core.events import EventSink
from gateway.core.faults import (
    FaultConflict,
    FaultRule,
    FaultTable,
    Held,
    Injected,
    RuleKind,
    Side,
    caller_address,
)
from gateway.core.topology import Topology
from nodes.clock import Clock

log = structlog.get_logger()


class FaultRefused(ValueError):
    """A rule this node cannot hold; ``status`` is the admin API's HTTP answer."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


class NodeFaults:
    def __init__(self, topology: Topology, node_id: str, clock: Clock, events: EventSink):
        self.node_id = node_id
        self.clock = clock
        self.events = events
        self.table = FaultTable()
        neighbours = topology.neighbours(node_id)
        self._neighbours = {node.id for node in neighbours}
        hosts = Counter(node.host for node in topology.nodes)
        self._node_hosts = frozenset(hosts)
        # a neighbour's requests are known by their source address, when no other node shares it
        self._shared = {node.id for node in neighbours if hosts[node.host] > 1}
        self._peer_by_host = {node.host: node.id for node in neighbours if hosts[node.host] == 1}
        self._changed = asyncio.Event()
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        """An id for a rule given without one: ``<node-id>-<n>``, unused here."""
        while True:
            fault_id = f"{self.node_id}-{next(self._ids)}"
            if self.table.get(fault_id) is None:
                return fault_id

    # -- changes ---------------------------------------------------------------------------------
    def add(self, rule: FaultRule) -> Held:
        """Hold ``rule`` from now on (FaultRefused when this node cannot)."""
        self._check(rule)
        self.heal_expired()  # an expired rule's id is free again
        try:
            held = self.table.add(rule)
        except FaultConflict as exc:
            raise FaultRefused(str(exc), status=409) from None
        if rule.kind is RuleKind.SKEW:
            self.clock.advance(timedelta(seconds=rule.skew_seconds))
        fields = rule_fields(rule)
        self.events.emit("fault.applied", **fields)
        log.warning("fault.applied", **fields)
        self._changed.set()
        return held

    def remove(self, fault_id: str) -> Held | None:
        held = self.table.remove(fault_id)
        if held is not None:
            self._healed(held, "cleared")
        return held

    def clear(self) -> list[Held]:
        removed = self.table.clear()
        for held in removed:
            self._healed(held, "cleared")
        return removed

    def heal_expired(self) -> list[Held]:
        expired = self.table.expire()
        for held in expired:
            self._healed(held, "expired")
        return expired

    def _healed(self, held: Held, reason: str) -> None:
        rule = held.rule
        if rule.kind is RuleKind.SKEW:
            self.clock.advance(timedelta(seconds=-rule.skew_seconds))
        self.events.emit("fault.healed", fault=rule.id, kind=rule.kind, reason=reason)
        log.warning("fault.healed", fault=rule.id, kind=str(rule.kind), reason=reason)
        self._changed.set()

    def _check(self, rule: FaultRule) -> None:
        if rule.peer is None:
            return
        if rule.peer not in self._neighbours:
            raise FaultRefused(f"{rule.peer} is not a neighbour of {self.node_id}")
        if rule.side is Side.INBOUND and rule.peer in self._shared:
            raise FaultRefused(
                f"{rule.peer} shares its host with another node: its requests cannot be told"
                " apart at " + self.node_id
            )

    # -- matching --------------------------------------------------------------------------------
    def inbound(
        self, remote: str, caller: str | None, *, client: str | None = None
    ) -> Injected | None:
        """What the rules do to a request from the TCP peer ``remote``. The application's address
        is ``client`` (the node's idea of the caller: X-Forwarded-For behind a proxy) or, from a
        node's address, the one in ``caller`` (the ``X-Ecert-Caller`` header)."""
        if self.table.empty:
            return None
        addresses = [remote]
        if client and client != remote:
            addresses.append(client)
        if remote in self._node_hosts:
            original = caller_address(caller)
            if original is not None:
                addresses.append(original)
        return self.table.inbound(peer=self._peer_by_host.get(remote), addresses=tuple(addresses))

    # -- healing ---------------------------------------------------------------------------------
    async def expiry_loop(self) -> None:
        """Heal timed rules as their time comes, until cancelled."""
        while True:
            self._changed.clear()
            self.heal_expired()
            expiry = self.table.next_expiry()
            wait = None if expiry is None else max(0.0, expiry - self.table.monotonic())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._changed.wait()

    def view(self, held: Held) -> dict[str, Any]:
        """A held rule as the admin API shows it: the rule, and its seconds left (or None)."""
        body = held.rule.model_dump(mode="json", exclude_defaults=True)
        body["kind"], body["id"] = str(held.rule.kind), held.rule.id
        if held.rule.kind is not RuleKind.SKEW:
            body["side"] = str(held.rule.side)
        body["description"] = held.rule.describe()
        remaining = held.remaining(self.table.monotonic())
        body["remaining_s"] = None if remaining is None else round(remaining, 3)
        return body


def rule_fields(rule: FaultRule) -> dict[str, Any]:
    """A rule as event and log fields."""
    fields: dict[str, Any] = rule.model_dump(mode="json", exclude_defaults=True, exclude={"id"})
    fields["kind"] = str(rule.kind)
    return {"fault": rule.id, **fields, "description": rule.describe()}
