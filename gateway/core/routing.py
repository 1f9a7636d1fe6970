"""Cascade routing decisions (SPEC §5, DB23/T 2836 §7.4 a–l) as pure functions: no I/O.

Given where a node sits in the topology, where a call came from, its hop budget, the route so far
and what the node's catalog index says, ``plan`` returns what the node does with the call:

- ``Local``     answer from this node's own store (the catalog entry points here, or this is the
                highest catalog for ``Retrieval`` / ``GetCertificateType``);
- ``Down``      ask these children (concurrently) and, with ``include_local``, this node too;
- ``Up``        ask the parent (nothing below matches, §7.4 c and i);
- ``NotFound``  return 10 (nothing matches here and the parent already asked, or there is none);
- ``HopLimit``  return 32 (this node already handled the call, or no hop is left for a forward).

A node never plans a hop back to the node the call came from, nor to any node already on the
route, so a stale catalog entry yields 10 and never a loop.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from gateway.core.topology import Topology


class MethodKind(StrEnum):
    """How a §7.3 method routes."""

    BY_ID = "by-id"  # the catalog entry of CertificateID
    BY_HOLDER = "by-holder"  # every entry of (holder, type[, number]) in the nearest subtree
    CATALOG = "catalog"  # the highest reachable catalog (Retrieval, GetCertificateType)


_BY_ID = frozenset(
    {
        "GetCertificateFileByCertificateID",
        "GetCertificateDataByCertificateID",
        "GetCertificatePictureByCertificateID",
    }
)
_BY_HOLDER = frozenset(
    {"GetCertificateFileByHolder", "GetCertificateDataByHolder", "GetCertificatePictureByHolder"}
)
_CATALOG = frozenset({"Retrieval", "GetCertificateType"})


def method_kind(method: str, params: Mapping[str, str]) -> MethodKind:
    """``VerifyCertificate`` routes by ID when CertificateID is given, else by holder (SPEC §5).

    ValueError for any other name: ``Token`` is answered by the node called, never routed.
    """
    if method in _BY_ID:
        return MethodKind.BY_ID
    if method in _BY_HOLDER:
        return MethodKind.BY_HOLDER
    if method == "VerifyCertificate":
        return MethodKind.BY_ID if params.get("CertificateID") else MethodKind.BY_HOLDER
    if method in _CATALOG:
        return MethodKind.CATALOG
    raise ValueError(f"{method!r} is not a routed method")


# -- plans ----------------------------------------------------------------------------------------
# ``reason`` says why, for explain and logs; it takes no part in equality.


@dataclass(frozen=True, slots=True)
class Local:
    reason: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Down:
    children: tuple[str, ...]  # in topology order
    include_local: bool = False
    reason: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Up:
    parent: str
    reason: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class NotFound:
    reason: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class HopLimit:
    reason: str = field(default="", compare=False)


Plan = Local | Down | Up | NotFound | HopLimit


@dataclass(frozen=True, slots=True)
class Facts:
    """What this node's catalog index says about the call.

    ``via``: the routing pointer of CertificateID (this node's id, a child's id, or None);
    ``holder_vias``: the routing pointers of every entry matching the holder query.
    """

    via: str | None = None
    holder_vias: frozenset[str] = frozenset()


def precheck(node_id: str, *, hops: int, route_in: Collection[str]) -> HopLimit | None:
    """The checks that need no catalog: a loop through this node, or a negative budget."""
    if node_id in route_in:
        return HopLimit(f"loop: {node_id} already handled this call")
    if hops < 0:
        return HopLimit(f"hop budget exhausted ({hops})")
    return None


def plan(
    topology: Topology,
    node_id: str,
    kind: MethodKind,
    *,
    came_from: str | None,
    hops: int,
    route_in: Collection[str] = (),
    facts: Facts | None = None,
) -> Plan:
    """What ``node_id`` does with a call of ``kind`` (SPEC §5)."""
    facts = facts or Facts()
    stopped = precheck(node_id, hops=hops, route_in=route_in)
    if stopped is not None:
        return stopped
    visited = {*route_in, *([came_from] if came_from else [])}
    chosen: Plan
    if kind is MethodKind.CATALOG:
        chosen = _plan_catalog(topology, node_id, visited)
    elif kind is MethodKind.BY_ID:
        chosen = _plan_by_id(topology, node_id, facts.via, visited)
    else:
        chosen = _plan_by_holder(topology, node_id, facts.holder_vias, visited)
    if isinstance(chosen, Up | Down) and _forwards(chosen) and hops < 1:
        return HopLimit(f"hop budget exhausted: cannot {describe(chosen)}")
    return chosen


def _forwards(chosen: Up | Down) -> bool:
    return isinstance(chosen, Up) or bool(chosen.children)


def _up_or(topology: Topology, node_id: str, visited: set[str], why: str) -> Plan:
    """Ask the parent when there is one that has not handled the call; else nothing matches."""
    parent = topology.node(node_id).parent
    if parent is None:
        return NotFound(f"{why}, and {node_id} is the root")
    if parent in visited:
        return NotFound(f"{why}, and the call came from the parent {parent}")
    return Up(parent, f"{why}: ask the parent")


def _plan_catalog(topology: Topology, node_id: str, visited: set[str]) -> Plan:
    parent = topology.node(node_id).parent
    if parent is None or parent in visited:
        return Local("the highest reachable catalog")
    return Up(parent, "a higher catalog exists")


def _plan_by_id(topology: Topology, node_id: str, via: str | None, visited: set[str]) -> Plan:
    if via is None:
        return _up_or(topology, node_id, visited, "no catalog entry")
    if via == node_id:
        return Local("the catalog entry points here")
    children = {child.id for child in topology.children(node_id)}
    if via not in children:
        return NotFound(f"stale catalog entry: {via} is not a child of {node_id}")
    if via in visited:
        return NotFound(f"stale catalog entry: {via} already handled the call")
    return Down((via,), reason="the catalog entry points down")


def _plan_by_holder(
    topology: Topology, node_id: str, vias: frozenset[str], visited: set[str]
) -> Plan:
    include_local = node_id in vias
    children = tuple(
        child.id
        for child in topology.children(node_id)
        if child.id in vias and child.id not in visited
    )
    if children:
        return Down(children, include_local, "catalog entries below")
    if include_local:
        return Local("catalog entries here only")
    return _up_or(topology, node_id, visited, "no catalog entry in this subtree")


def describe(chosen: Plan) -> str:
    """One line for explain and logs, e.g. ``down to hlj-daqing, hlj-amr and local``."""
    match chosen:
        case Local():
            text = "local"
        case Down(children=children, include_local=include_local):
            targets = ", ".join(children) + (" and local" if include_local else "")
            text = f"down to {targets}"
        case Up(parent=parent):
            text = f"up to {parent}"
        case NotFound():
            text = "not found (10)"
        case HopLimit():
            text = "hop limit (32)"
    return f"{text}: {chosen.reason}" if chosen.reason else text


def plan_name(chosen: Plan) -> str:
    """A short machine name: ``local``, ``down``, ``up``, ``not-found``, ``hop-limit``."""
    return {
        Local: "local",
        Down: "down",
        Up: "up",
        NotFound: "not-found",
        HopLimit: "hop-limit",
    }[type(chosen)]


def targets(chosen: Plan) -> tuple[str, ...]:
    """The neighbours a plan forwards to, in order."""
    if isinstance(chosen, Down):
        return chosen.children
    if isinstance(chosen, Up):
        return (chosen.parent,)
    return ()
