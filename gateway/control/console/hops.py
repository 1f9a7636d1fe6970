"""A request's route as a tree of hops from its entry node, for the console to draw.

``X-Ecert-Route`` (and the ``route`` of a ``request.handled`` event) is flat: every node that
handled the request, in the order first reached. A by-holder lookup fans out, so the flat list
hides which node asked which. Requests only travel along the tree's edges (§7.4), so each node
of a route after the entry was asked by its one topology neighbour that comes earlier in the
route; the ``request.forwarded`` events of the nodes say the same, and also name the neighbours
that were asked and never answered (unreachable, cut, paused): those have no place in the route
and become failed branches here.

``hop_tree`` is pure: the topology, the entry's route and timings, and the forwards seen so far
in; the tree out, as plain dicts (``{"node", "depth", "ms", "status", "outcome",
"children"}``) the page draws. ``ms`` is the node's whole handling time (``Server-Timing``)
for a node that answered, the forward's time until it failed for one that did not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.core.errors import TopologyError
from gateway.core.topology import Topology

ANSWERED = "answered"
KEEP = 5000  # requests a RouteBook remembers: more than one look at a busy stream brings


@dataclass(frozen=True)
class Forward:
    """One ``request.forwarded`` event: ``source`` asked its neighbour ``target``."""

    source: str
    target: str
    outcome: str  # answered, unreachable, rejected, failed, cancelled
    status: int | None = None
    ms: float | None = None

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Forward | None:
        """The forward of an event record; None when it is not one."""
        source, target = record.get("node"), record.get("neighbour")
        if not isinstance(source, str) or not isinstance(target, str):
            return None
        status, ms = record.get("status"), record.get("ms")
        return cls(
            source,
            target,
            str(record.get("outcome") or "failed"),
            status if isinstance(status, int) else None,
            float(ms) if isinstance(ms, int | float) else None,
        )


def _asker(topology: Topology, node_id: str, earlier: Sequence[str]) -> str | None:
    """The neighbour of ``node_id`` that comes first in ``earlier``: the one that asked it."""
    try:
        neighbours = {spec.id for spec in topology.neighbours(node_id)}
    except TopologyError:  # a node the topology does not know: hung under the entry
        return None
    return next((other for other in earlier if other in neighbours), None)


def hop_tree(
    topology: Topology,
    route: Sequence[str],
    timings: Mapping[str, float],
    forwards: Iterable[Forward] = (),
    *,
    status: int | None = None,
) -> dict[str, Any] | None:
    """The tree of hops of one request from its entry node (``route[0]``); None for no route.

    ``status`` is what the entry node answered; a node reached by a forward carries the status
    it answered its asker; a neighbour asked and never answering hangs under its asker with the
    forward's outcome.
    """
    if not route:
        return None
    by_target = {(f.source, f.target): f for f in forwards}
    hops: dict[str, dict[str, Any]] = {}

    def hop(node_id: str, depth: int, forward: Forward | None) -> dict[str, Any]:
        answered = forward is None or forward.outcome == ANSWERED
        ms = timings.get(node_id) if answered else None
        hops[node_id] = {
            "node": node_id,
            "depth": depth,
            "ms": ms if ms is not None else (forward.ms if forward is not None else None),
            "status": forward.status if forward is not None else None,
            "outcome": forward.outcome if forward is not None else ANSWERED,
            "children": [],
        }
        return hops[node_id]

    root = hop(route[0], 0, None)
    root["status"] = status
    for index, node_id in enumerate(route[1:], start=1):
        if node_id in hops:
            continue
        asker = _asker(topology, node_id, route[:index]) or route[0]
        parent = hops[asker]
        parent["children"].append(
            hop(node_id, parent["depth"] + 1, by_target.get((asker, node_id)))
        )
    for forward in by_target.values():  # asked, never answered: a failed branch of its asker
        asker_hop = hops.get(forward.source)
        if forward.target not in hops and asker_hop is not None and forward.outcome != ANSWERED:
            asker_hop["children"].append(hop(forward.target, asker_hop["depth"] + 1, forward))
    return root


def flat_hops(tree: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The tree's hops in drawing order (depth first, children in the order reached)."""
    if tree is None:
        return []
    found = [tree]
    for child in tree["children"]:
        found.extend(flat_hops(child))
    return found


def timings_of(value: object) -> dict[str, float]:
    """``[{"node", "ms"}]`` (an event's or an answer's timings) as node → ms."""
    if not isinstance(value, list):
        return {}
    return {
        entry["node"]: float(entry["ms"])
        for entry in value
        if isinstance(entry, dict)
        and isinstance(entry.get("node"), str)
        and isinstance(entry.get("ms"), int | float)
    }


def is_entry(record: Mapping[str, Any]) -> bool:
    """A ``request.handled`` at the node the application called: there the caller is the
    account that called (a node a call was forwarded to was called by its neighbour's account,
    on the caller's behalf)."""
    account = record.get("account")
    return (
        record.get("event") == "request.handled"
        and bool(account)
        and account == record.get("caller")
    )


class RouteBook:
    """The trees of the recent requests of one event stream, kept as their events arrive.

    ``take(record)`` gives what the page is sent for one record: an entry node's
    ``request.handled`` with its ``tree``; for a ``request.forwarded`` of a request whose entry
    was already sent, a ``route.tree`` record with the tree as it now stands (the nodes flush
    their events on their own, so a fan-out's failed branch may come after its entry); nothing
    for an explain call (``explain``: its plan is part of the call it explains); any other
    record as it is. The ``keep`` most recent requests are remembered.
    """

    def __init__(self, topology: Topology, *, keep: int = KEEP) -> None:
        self.topology = topology
        self.keep = keep
        self._entries: dict[str, Mapping[str, Any]] = {}
        self._forwards: dict[str, list[Forward]] = {}

    def _remember(self, book: dict[str, Any], request_id: str, value: Any) -> None:
        book.pop(request_id, None)
        book[request_id] = value
        while len(book) > self.keep:
            del book[next(iter(book))]

    def tree_of(self, request_id: str) -> dict[str, Any] | None:
        entry = self._entries.get(request_id)
        if entry is None:
            return None
        route = entry.get("route")
        return hop_tree(
            self.topology,
            [n for n in route if isinstance(n, str)] if isinstance(route, list) else [],
            timings_of(entry.get("timings")),
            self._forwards.get(request_id, ()),
            status=entry.get("status") if isinstance(entry.get("status"), int) else None,
        )

    def take(self, record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        request_id = record.get("request_id")
        if record.get("explain"):  # the plan of a call, not a call of its own: the page lists
            return []  # each call once (the console's form asks for both)
        if record.get("event") == "request.forwarded":
            forward = Forward.of(record)
            if not isinstance(request_id, str) or forward is None:
                return []
            self._remember(
                self._forwards, request_id, [*self._forwards.get(request_id, []), forward]
            )
            if request_id not in self._entries:
                return []
            return [{"event": "route.tree", "request_id": request_id,
                     "tree": self.tree_of(request_id)}]  # fmt: skip
        if is_entry(record) and isinstance(request_id, str):
            self._remember(self._entries, request_id, record)
            return [{**record, "tree": self.tree_of(request_id)}]
        return [record]
